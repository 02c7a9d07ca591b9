#include "client/maps_import.h"

#include <cstdint>
#include <string>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/limits.h"
#include "core/vma.h"

namespace mmsim::client {
namespace {

bool ParseHex(absl::string_view s, uint64_t* out) {
  return !s.empty() && absl::SimpleHexAtoi(s, out);
}

// Splits off the next whitespace-separated field of `*line`.
absl::string_view NextField(absl::string_view* line) {
  *line = absl::StripLeadingAsciiWhitespace(*line);
  size_t end = 0;
  while (end < line->size() && !absl::ascii_isspace((*line)[end])) ++end;
  absl::string_view field = line->substr(0, end);
  line->remove_prefix(end);
  return field;
}

absl::Status BadLine(int line_no, absl::string_view line) {
  return absl::InvalidArgumentError(
      absl::StrCat("maps line ", line_no, " is malformed: \"", line, "\""));
}

}  // namespace

absl::StatusOr<ImportedProcess> ParseProcMaps(absl::string_view maps) {
  ImportedProcess out;
  v1::ProcessDescription* desc = out.request.mutable_description();
  absl::btree_map<std::string, uint64_t> file_sizes;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(maps, '\n')) {
    ++line_no;
    absl::string_view rest = line;
    absl::string_view range = NextField(&rest);
    if (range.empty()) continue;  // blank line
    absl::string_view perms = NextField(&rest);
    absl::string_view offset_field = NextField(&rest);
    absl::string_view dev = NextField(&rest);
    absl::string_view inode = NextField(&rest);
    absl::string_view name = absl::StripAsciiWhitespace(rest);
    std::pair<absl::string_view, absl::string_view> bounds =
        absl::StrSplit(range, absl::MaxSplits('-', 1));
    uint64_t start = 0, end = 0, offset = 0;
    if (!ParseHex(bounds.first, &start) || !ParseHex(bounds.second, &end) ||
        !ParseHex(offset_field, &offset) || perms.size() != 4 || dev.empty() ||
        inode.empty()) {
      return BadLine(line_no, line);
    }
    if (end > kTaskSize) {  // [vsyscall]: not a VMA of the mm in Linux
      ++out.skipped;
      continue;
    }
    v1::RegionSpec* region = desc->add_regions();
    region->set_start(start);
    region->set_end(end);
    region->set_perms(std::string(perms));
    if (absl::StartsWith(name, "/")) {
      region->set_file_name(std::string(name));
      region->set_pgoff(offset >> kPageShift);
      uint64_t& size = file_sizes[std::string(name)];
      size = std::max(size, offset + (end - start));
    } else if (name == "[heap]") {
      desc->mutable_layout()->set_start_brk(start);
      desc->mutable_layout()->set_brk(end);
    } else if (name == "[stack]") {
      region->set_extra_vm_flags(kVmGrowsdown);
      // Any address inside the region names it [stack]; /proc/PID/stat
      // gives the real one when readable.
      desc->mutable_layout()->set_start_stack(end - kPageSize);
    } else if (absl::StartsWith(name, "[") &&
               !absl::StartsWith(name, "[anon:")) {
      region->set_special_name(std::string(name));
    }
  }
  for (const auto& [name, size] : file_sizes) {
    v1::CreateFileRequest& file = out.files.emplace_back();
    file.set_name(name);
    file.set_size(PageAlign(size));
    file.set_mode(0644);
  }
  return out;
}

absl::Status ParseProcStatLayout(absl::string_view stat, v1::Layout* layout) {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
  // fields are counted from the last ')'. Field n (1-based, proc(5)) is
  // fields[n - 3].
  size_t paren = stat.rfind(')');
  if (paren == absl::string_view::npos) {
    return absl::InvalidArgumentError("not a /proc/PID/stat line");
  }
  std::vector<absl::string_view> fields =
      absl::StrSplit(stat.substr(paren + 1), ' ', absl::SkipEmpty());
  if (fields.size() < 51 - 2) {
    return absl::InvalidArgumentError("/proc/PID/stat line too short");
  }
  auto field = [&fields](int n) {
    uint64_t value = 0;
    absl::string_view text = absl::StripAsciiWhitespace(fields[n - 3]);
    if (!absl::SimpleAtoi(text, &value)) return uint64_t{0};
    return value;
  };
  auto set = [](uint64_t value, auto setter) {
    if (value != 0) setter(value);
  };
  set(field(26), [&](uint64_t v) { layout->set_start_code(v); });
  set(field(27), [&](uint64_t v) { layout->set_end_code(v); });
  set(field(28), [&](uint64_t v) { layout->set_start_stack(v); });
  set(field(45), [&](uint64_t v) { layout->set_start_data(v); });
  set(field(46), [&](uint64_t v) { layout->set_end_data(v); });
  set(field(47), [&](uint64_t v) { layout->set_start_brk(v); });
  set(field(48), [&](uint64_t v) { layout->set_arg_start(v); });
  set(field(49), [&](uint64_t v) { layout->set_arg_end(v); });
  set(field(50), [&](uint64_t v) { layout->set_env_start(v); });
  set(field(51), [&](uint64_t v) { layout->set_env_end(v); });
  if (layout->brk() == 0) layout->set_brk(layout->start_brk());
  return absl::OkStatus();
}

}  // namespace mmsim::client
