// The GPU code inside the built dagminer binary, read from its fat binary (the .nv_fatbin ELF
// section that nvcc embeds), against what the build says it embeds: `dagminer --version` and
// gpu::embedded_code(). cuobjdump --list-elf --list-ptx shows the same; the reader here needs
// no CUDA toolkit beyond nvcc.
#include <elf.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "dagminer/gpu/architectures.hpp"
#include "dagminer/test/support.hpp"

namespace dagminer::gpu {
namespace {

std::vector<char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return {std::istreambuf_iterator<char>(in), {}};
}

template <typename T>
T read_at(const std::vector<char>& bytes, std::uint64_t offset, const char* what) {
  if (offset > bytes.size() || bytes.size() - offset < sizeof(T))
    throw std::runtime_error(std::string(what) + " at offset " + std::to_string(offset) + " is beyond the file");
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

// The bytes of a 64-bit ELF file's section, empty when there is none of that name.
std::vector<char> elf_section(const std::vector<char>& elf, const std::string& name) {
  const auto header = read_at<Elf64_Ehdr>(elf, 0, "ELF header");
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64)
    throw std::runtime_error("not a 64-bit ELF file");
  const auto section = [&](unsigned i) {
    return read_at<Elf64_Shdr>(elf, header.e_shoff + std::uint64_t{i} * header.e_shentsize, "section header");
  };
  const Elf64_Shdr names = section(header.e_shstrndx);
  for (unsigned i = 0; i < header.e_shnum; ++i) {
    const Elf64_Shdr s = section(i);
    if (names.sh_offset + s.sh_name >= elf.size()) throw std::runtime_error("section name beyond the file");
    if (name != elf.data() + names.sh_offset + s.sh_name) continue;
    if (s.sh_offset + s.sh_size > elf.size()) throw std::runtime_error(name + " extends beyond the file");
    return {elf.begin() + static_cast<std::ptrdiff_t>(s.sh_offset),
            elf.begin() + static_cast<std::ptrdiff_t>(s.sh_offset + s.sh_size)};
  }
  return {};
}

// The fat binaries of the section, one after another (8-byte aligned): a 16-byte header
// (magic 0xBA55ED50, version, header size, size of the entries), then entries, each a header
// (kind 1 = PTX, 2 = ELF cubin; the architecture at byte 28) and its image.
EmbeddedCode fatbin_contents(const std::vector<char>& section) {
  std::set<int> native, ptx;
  std::uint64_t at = 0;
  while (at < section.size()) {
    if (read_at<std::uint32_t>(section, at, "fat binary magic") != 0xBA55ED50u)
      throw std::runtime_error("no fat binary at offset " + std::to_string(at));
    const auto header_bytes = read_at<std::uint16_t>(section, at + 6, "fat binary header size");
    const auto entries_bytes = read_at<std::uint64_t>(section, at + 8, "fat binary size");
    const std::uint64_t end = at + header_bytes + entries_bytes;
    for (std::uint64_t e = at + header_bytes; e < end;) {
      const auto kind = read_at<std::uint16_t>(section, e, "entry kind");
      const auto entry_header = read_at<std::uint32_t>(section, e + 4, "entry header size");
      const auto image = read_at<std::uint64_t>(section, e + 8, "entry size");
      const auto arch = static_cast<int>(read_at<std::uint32_t>(section, e + 28, "entry architecture"));
      if (kind == 1) ptx.insert(arch);
      else if (kind == 2) native.insert(arch);
      else throw std::runtime_error("fat binary entry of unknown kind " + std::to_string(kind));
      e += entry_header + image;
    }
    at = (end + 7) / 8 * 8;
  }
  return {{native.begin(), native.end()}, {ptx.begin(), ptx.end()}};
}

TEST(EmbeddedCode, TheBinaryHoldsExactlyTheCodeTheBuildReports) {
  const EmbeddedCode reported = embedded_code();
  const EmbeddedCode found = fatbin_contents(elf_section(read_file(DAGMINER_BINARY), ".nv_fatbin"));
  EXPECT_EQ(found.native, reported.native) << to_string(found);
  EXPECT_EQ(found.ptx, reported.ptx) << to_string(found);

  const auto version = test::run_command(std::string("'") + DAGMINER_BINARY + "' --version");
  ASSERT_EQ(version.status, 0) << version.output;
  std::smatch line;
  ASSERT_TRUE(std::regex_search(version.output, line, std::regex("\nGPU architectures +([^\n]*)"))) << version.output;
  EXPECT_EQ(line[1].str(), to_string(found));
}

#ifdef DAGMINER_RELEASE_ARCHITECTURES
// A build with the default architectures (CMakeLists.txt) carries native code for every
// architecture of mining cards from Turing on, and the newest PTX.
TEST(EmbeddedCode, ReleaseBuildsCoverTuringToBlackwell) {
  const EmbeddedCode found = fatbin_contents(elf_section(read_file(DAGMINER_BINARY), ".nv_fatbin"));
  EXPECT_EQ(found.native, (std::vector<int>{75, 80, 86, 89, 90, 100, 120})) << to_string(found);
  EXPECT_EQ(found.ptx, (std::vector<int>{120})) << to_string(found);
}
#endif

TEST(VersionFlag, SaysWhatThisBuildIs) {
  const auto version = test::run_command(std::string("'") + DAGMINER_BINARY + "' --version");
  ASSERT_EQ(version.status, 0) << version.output;
  EXPECT_TRUE(std::regex_search(version.output, std::regex("^dagminer [0-9]+\\.[0-9]+\\.[0-9]+[^ \n]*\n"))) << version.output;
  EXPECT_TRUE(std::regex_search(version.output, std::regex("\ncommit +([0-9a-f]{40}|unknown)\n"))) << version.output;
  EXPECT_TRUE(std::regex_search(version.output, std::regex("\nbuild type +" DAGMINER_BUILD_TYPE_FOR_TESTS "\n")))
      << version.output;
  EXPECT_TRUE(std::regex_search(version.output, std::regex("\nCUDA runtime +([0-9]+\\.[0-9]+|none)\n"))) << version.output;
  EXPECT_TRUE(std::regex_search(version.output, std::regex("\nCUDA driver +([0-9]+\\.[0-9]+|none[^\n]*)\n"))) << version.output;
}

}  // namespace
}  // namespace dagminer::gpu
