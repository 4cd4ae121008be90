#include "dagminer/gpu/launch_tuning.hpp"

#include "dagminer/core/file_descriptor.hpp"
#include "dagminer/core/file_replace.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace dagminer::gpu {

std::string to_string(const LaunchShape& s) {
  return "block=" + std::to_string(s.block_threads) + " registers=" + std::to_string(s.max_registers) +
         " launch=" + std::to_string(s.launch_hashes) + " streams=" + std::to_string(s.streams);
}

void validate(const LaunchShape& s) {
  if (s.streams < 1 || s.streams > 16) throw std::invalid_argument("GPU streams must be 1..16");
  if (s.launch_hashes == 0 || s.launch_hashes > max_launch_hashes)
    throw std::invalid_argument("GPU launch size must be 1.." + std::to_string(max_launch_hashes) + " hashes, got " +
                                std::to_string(s.launch_hashes));
  if (s.block_threads < 32 || s.block_threads > 256 || s.block_threads % 32 != 0)
    throw std::invalid_argument("GPU block size must be a multiple of 32 up to 256");
  if (std::find(std::begin(search_register_caps), std::end(search_register_caps), s.max_registers) ==
      std::end(search_register_caps))
    throw std::invalid_argument("GPU registers must be one of 128, 96, 80, 72, 64, got " + std::to_string(s.max_registers));
}

std::string TuneKey::text() const {
  std::string t = "model=" + gpu_model + " sms=" + std::to_string(sm_count) + " memory=" + std::to_string(memory_bytes);
  if (power_limit_watts) t += " power_limit=" + std::to_string(*power_limit_watts) + "W";
  t += " driver=" + std::to_string(driver_version) + " kernel=" + std::to_string(kernel_version) +
       " dag=" + std::to_string(dag_bytes);
  std::replace(t.begin(), t.end(), '\t', ' ');
  std::replace(t.begin(), t.end(), '\n', ' ');
  return t;
}

std::vector<LaunchShape> default_tuning_candidates() {
  const LaunchShape anchor;
  std::vector<LaunchShape> c{anchor};
  for (int registers : search_register_caps) {
    if (registers == anchor.max_registers) continue;
    LaunchShape s = anchor;
    s.max_registers = registers;
    c.push_back(s);
  }
  for (int registers : {anchor.max_registers, 80})
    for (int block : {64, 256}) {
      LaunchShape s = anchor;
      s.max_registers = registers;
      s.block_threads = block;
      c.push_back(s);
    }
  for (std::uint32_t launch : {anchor.launch_hashes / 2, anchor.launch_hashes * 2}) {
    LaunchShape s = anchor;
    s.launch_hashes = launch;
    c.push_back(s);
  }
  for (int streams : {2, 4}) {
    LaunchShape s = anchor;
    s.streams = streams;
    c.push_back(s);
  }
  return c;
}

double ShapeTrial::mean_mhs() const {
  return mhs.empty() ? 0.0 : std::accumulate(mhs.begin(), mhs.end(), 0.0) / static_cast<double>(mhs.size());
}

ShapeTrials::ShapeTrials(std::vector<LaunchShape> candidates, double trial_seconds, int rounds) : trial_seconds_(trial_seconds) {
  if (candidates.empty()) throw std::invalid_argument("launch tuning needs at least one candidate shape");
  if (!(trial_seconds > 0)) throw std::invalid_argument("launch tuning: the trial time must be positive");
  if (rounds < 1) throw std::invalid_argument("launch tuning: at least one round");
  for (auto& s : candidates) {
    validate(s);
    trials_.push_back({s, {}});
  }
  for (int r = 0; r < rounds; ++r)
    for (std::size_t i = 0; i < trials_.size(); ++i) order_.push_back(i);
}

const LaunchShape& ShapeTrials::current() const { return finished() ? best() : trials_[order_[next_]].shape; }

void ShapeTrials::completed(const LaunchShape& shape, std::uint64_t hashes, double seconds) {
  if (finished() || !(shape == current())) return;  // a launch of the shape before, still draining
  // A gap far beyond the trial's pace so far, and long against the trial: the GPU idled (no work
  // from the pools, or its nonces ran out). The launches after it refill the pipeline together,
  // as at a trial's start, so this completion begins a new warm-up.
  if (started_ && counted_ >= 2 && restarts_ < max_idle_restarts) {
    const double gap = seconds - last_, pace = (last_ - *started_) / counted_;
    if (gap > idle_gap_factor * pace && gap > idle_gap_fraction * trial_seconds_) {
      ++restarts_;
      started_.reset();
      warm_up_ = 0;
    }
  }
  if (!started_) {
    if (++warm_up_ < shape.streams) return;  // launched beside the previous shape's: not counted
    started_ = last_ = seconds;              // the trial starts here
    hashes_ = 0;
    counted_ = 0;
    return;
  }
  // Completions are told in launch order but may end out of it (a cancelled launch ends early):
  // one that ended before the trial started is not the trial's.
  if (seconds <= *started_) return;
  last_ = std::max(last_, seconds);
  ++counted_;
  hashes_ += hashes;
  const double elapsed = seconds - *started_;
  if (elapsed < trial_seconds_) return;
  trials_[order_[next_]].mhs.push_back(static_cast<double>(hashes_) / elapsed / 1e6);
  ++next_;
  restarts_ = 0;
  started_.reset();
  warm_up_ = 0;
}

const LaunchShape& ShapeTrials::best() const {
  double fastest = 0;
  for (const auto& t : trials_) fastest = std::max(fastest, t.mean_mhs());
  for (const auto& t : trials_)  // before any measurement every rate is 0: the first candidate
    if (t.mean_mhs() >= fastest * (1 - tie_fraction)) return t.shape;
  return trials_.front().shape;  // not reached: the fastest is within any fraction of itself
}

std::optional<LaunchShape> parse_launch_shape(std::string_view text) {
  LaunchShape s;
  bool block = false, registers = false, launch = false, streams = false;
  std::istringstream in{std::string(text)};
  std::string field;
  while (in >> field) {
    const auto eq = field.find('=');
    if (eq == std::string::npos) return std::nullopt;
    const std::string name = field.substr(0, eq);
    const std::string value = field.substr(eq + 1);
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc{} || end != value.data() + value.size() || v > 0xffffffffu) return std::nullopt;
    if (name == "block" && !block) block = true, s.block_threads = static_cast<int>(v);
    else if (name == "registers" && !registers) registers = true, s.max_registers = static_cast<int>(v);
    else if (name == "launch" && !launch) launch = true, s.launch_hashes = static_cast<std::uint32_t>(v);
    else if (name == "streams" && !streams) streams = true, s.streams = static_cast<int>(v);
    else return std::nullopt;
  }
  if (!block || !registers || !launch || !streams) return std::nullopt;
  try {
    validate(s);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
  return s;
}

TunedShapeStore::TunedShapeStore(std::filesystem::path directory) : path_(std::move(directory) / "tuned-launch-shapes.txt") {}

namespace {

// Lines "key<TAB>shape"; a save keeps other keys' lines as they are and drops empty ones. A file
// that is missing reads as empty; one that exists but cannot be read is an error, so that a
// save does not replace the other cards' shapes with nothing.
std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  if (!in) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec) || ec) throw std::runtime_error("cannot read " + path.string());
    return lines;
  }
  for (std::string line; std::getline(in, line);) lines.push_back(line);  // empty ones too: line numbers
  return lines;
}

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
  const int error = errno;  // before anything below may set it
  throw std::runtime_error(what + " " + path.string() + ": " + std::system_category().message(error));
}

// An exclusive lock on a file of its own, held until destruction (closing the file releases it).
class LockFile {
 public:
  explicit LockFile(const std::filesystem::path& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (!fd_.is_open()) fail("cannot open", path);
    int rc;
    while ((rc = ::flock(fd_.get(), LOCK_EX)) != 0 && errno == EINTR) {
    }
    if (rc != 0) fail("cannot lock", path);
  }

 private:
  FileDescriptor fd_;
};

}  // namespace

std::optional<LaunchShape> TunedShapeStore::find(const TuneKey& key) const {
  const std::string prefix = key.text() + '\t';
  const std::vector<std::string> lines = read_lines(path_);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (!lines[i].starts_with(prefix)) continue;
    const std::string_view text = std::string_view(lines[i]).substr(prefix.size());
    if (auto shape = parse_launch_shape(text)) return shape;
    throw std::runtime_error(path_.string() + " line " + std::to_string(i + 1) + ": not a launch shape: '" + std::string(text) +
                             "' (the card tunes again and replaces it)");
  }
  return std::nullopt;
}

void TunedShapeStore::save(const TuneKey& key, const LaunchShape& shape) const {
  std::error_code ec;
  std::filesystem::create_directories(path_.parent_path(), ec);
  // Every card's worker and a `dagminer tune` beside the daemon may save at once: the read, the
  // rewrite and the rename happen under an exclusive lock on a file of their own, which stays
  // (flock conflicts between open files, so this orders threads as well as processes).
  const LockFile lock(path_.string() + ".lock");

  const std::string prefix = key.text() + '\t';
  std::vector<std::string> lines = read_lines(path_);
  std::erase_if(lines, [&](const std::string& l) { return l.empty() || l.starts_with(prefix); });
  lines.push_back(prefix + to_string(shape));
  std::string text;
  for (const auto& l : lines) text += l + '\n';
  replace_file(path_, {std::as_bytes(std::span(text))});
}

}  // namespace dagminer::gpu
