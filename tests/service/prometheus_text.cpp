#include "prometheus_text.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace dagminer::test {
namespace {

bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

bool valid_metric_name(std::string_view s) {
  if (s.empty() || !(name_start(s[0]) || s[0] == ':')) return false;
  for (char c : s)
    if (!name_char(c) && c != ':') return false;
  return true;
}

bool valid_label_name(std::string_view s) {
  if (s.empty() || !name_start(s[0]) || s.starts_with("__")) return false;
  for (char c : s)
    if (!name_char(c)) return false;
  return true;
}

double parse_value(std::string_view s) {
  if (s == "NaN") return NAN;
  if (s == "+Inf") return INFINITY;
  if (s == "-Inf") return -INFINITY;
  const std::string text(s);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v) || text.find_first_of("xXnN") != std::string::npos)
    throw std::runtime_error("bad value '" + text + "'");
  return v;
}

// One sample line: name{label="value",...} value [timestamp]
PromSample parse_sample(std::string_view line) {
  PromSample s;
  std::size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
  s.name = std::string(line.substr(0, i));
  if (!valid_metric_name(s.name)) throw std::runtime_error("bad metric name '" + s.name + "'");
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (true) {
      if (i >= line.size()) throw std::runtime_error("unterminated label set");
      if (line[i] == '}') {
        ++i;
        break;
      }
      const std::size_t eq = line.find('=', i);
      if (eq == std::string_view::npos) throw std::runtime_error("label without '='");
      const std::string label(line.substr(i, eq - i));
      if (!valid_label_name(label)) throw std::runtime_error("bad label name '" + label + "'");
      i = eq + 1;
      if (i >= line.size() || line[i] != '"') throw std::runtime_error("label value of " + label + " not quoted");
      ++i;
      std::string value;
      while (true) {
        if (i >= line.size()) throw std::runtime_error("unterminated label value of " + label);
        const char c = line[i++];
        if (c == '"') break;
        if (c != '\\') {
          value += c;
          continue;
        }
        if (i >= line.size()) throw std::runtime_error("dangling backslash in " + label);
        const char e = line[i++];
        if (e == '\\') value += '\\';
        else if (e == '"') value += '"';
        else if (e == 'n') value += '\n';
        else throw std::runtime_error(std::string("unknown escape \\") + e + " in " + label);
      }
      if (!s.labels.emplace(label, value).second) throw std::runtime_error("label " + label + " twice");
      if (i < line.size() && line[i] == ',') ++i;
      else if (i >= line.size() || line[i] != '}') throw std::runtime_error("expected ',' or '}' after label " + label);
    }
  }
  if (i >= line.size() || line[i] != ' ') throw std::runtime_error("expected one space before the value");
  const std::string_view rest = line.substr(i + 1);
  const auto space = rest.find(' ');
  s.value = parse_value(rest.substr(0, space));
  if (space != std::string_view::npos) {
    const std::string_view ts = rest.substr(space + 1);
    if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string_view::npos) throw std::runtime_error("bad timestamp");
  }
  return s;
}

// The family a sample name belongs to under the family's type.
bool belongs(const PromFamily& f, const PromSample& s) {
  if (f.type == "summary")
    return (s.name == f.name && s.labels.count("quantile")) || s.name == f.name + "_sum" || s.name == f.name + "_count";
  if (f.type == "histogram")
    return (s.name == f.name + "_bucket" && s.labels.count("le")) || s.name == f.name + "_sum" || s.name == f.name + "_count";
  return s.name == f.name;
}

}  // namespace

std::vector<PromFamily> parse_prometheus_text(std::string_view text) {
  std::vector<PromFamily> families;
  std::set<std::string> names;
  std::set<std::pair<std::string, std::map<std::string, std::string>>> series;
  if (text.empty() || text.back() != '\n') throw std::runtime_error("the text must end with a newline");
  std::size_t number = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t end = text.find('\n', pos);
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++number;
    try {
      if (line.empty()) throw std::runtime_error("empty line");
      if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
        const std::string_view rest = line.substr(7);
        const auto space = rest.find(' ');
        if (space == std::string_view::npos) throw std::runtime_error("HELP or TYPE without text");
        const std::string name(rest.substr(0, space));
        const std::string_view arg = rest.substr(space + 1);
        if (!valid_metric_name(name)) throw std::runtime_error("bad metric name '" + name + "'");
        if (line[2] == 'H') {
          if (!names.insert(name).second) throw std::runtime_error("family " + name + " declared twice");
          if (!families.empty() && families.back().samples.empty())
            throw std::runtime_error("family " + families.back().name + " has no samples");
          for (std::size_t i = 0; i < arg.size(); ++i)
            if (arg[i] == '\\' && (i + 1 >= arg.size() || (arg[i + 1] != '\\' && arg[i + 1] != 'n')))
              throw std::runtime_error("bad escape in HELP");
            else if (arg[i] == '\\') ++i;
          families.push_back({name, "", std::string(arg), {}});
        } else {
          if (families.empty() || families.back().name != name || !families.back().type.empty())
            throw std::runtime_error("TYPE of " + name + " must follow its HELP, once");
          static const std::set<std::string_view> types{"counter", "gauge", "summary", "histogram", "untyped"};
          if (!types.count(arg)) throw std::runtime_error("unknown type '" + std::string(arg) + "'");
          if (arg == "counter" && !name.ends_with("_total")) throw std::runtime_error("counter " + name + " must end in _total");
          families.back().type = std::string(arg);
        }
        continue;
      }
      if (line.starts_with("#")) throw std::runtime_error("comment lines other than HELP and TYPE are not expected");
      PromSample s = parse_sample(line);
      if (families.empty() || families.back().type.empty() || !belongs(families.back(), s))
        throw std::runtime_error("sample " + s.name + " outside its family's HELP and TYPE");
      if (!series.emplace(s.name, s.labels).second) throw std::runtime_error("series " + s.name + " twice");
      if ((families.back().type == "counter" || s.name.ends_with("_count")) && !(s.value >= 0))
        throw std::runtime_error("counter " + s.name + " is negative or NaN");
      families.back().samples.push_back(std::move(s));
    } catch (const std::runtime_error& e) {
      throw std::runtime_error("line " + std::to_string(number) + ": " + e.what() + ": " + std::string(line));
    }
  }
  if (!families.empty() && families.back().samples.empty())
    throw std::runtime_error("family " + families.back().name + " has no samples");
  return families;
}

std::optional<double> prom_value(const std::vector<PromFamily>& families, const std::string& name,
                                 const std::map<std::string, std::string>& labels) {
  for (const auto& f : families)
    for (const auto& s : f.samples) {
      if (s.name != name) continue;
      bool match = true;
      for (const auto& [k, v] : labels) match = match && s.labels.count(k) && s.labels.at(k) == v;
      if (match) return s.value;
    }
  return std::nullopt;
}

std::optional<ToolRun> promtool_check(const std::string& text) {
  const std::string promtool = DAGMINER_PROMTOOL;  // found by CMake; empty when not installed
  if (promtool.empty() || access(promtool.c_str(), X_OK) != 0) return std::nullopt;
  std::random_device rd;
  const auto file = std::filesystem::temp_directory_path() / ("dagminer-metrics-" + std::to_string(rd()) + ".txt");
  std::ofstream(file) << text;
  const std::string command = promtool + " check metrics < '" + file.string() + "' 2>&1";
  ToolRun run;
  if (FILE* p = popen(command.c_str(), "r")) {
    char buf[512];
    while (const std::size_t n = std::fread(buf, 1, sizeof buf, p)) run.output.append(buf, n);
    const int status = pclose(p);
    run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::filesystem::remove(file);
  return run;
}

}  // namespace dagminer::test
