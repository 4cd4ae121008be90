// Replacing a file whole: readers see the old contents or the new, never a part, and a crash
// leaves one of the two.
#pragma once

#include <cstddef>
#include <filesystem>
#include <initializer_list>
#include <span>

namespace dagminer {

// Writes `parts` in order to a temporary beside `target` (a name no other thread or process
// uses), syncs it and renames it over `target`. The temporary is removed on any failure.
// Throws std::system_error naming the file.
void replace_file(const std::filesystem::path& target, std::initializer_list<std::span<const std::byte>> parts);

}  // namespace dagminer
