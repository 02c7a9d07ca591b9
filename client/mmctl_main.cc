// mmctl: command-line client of mmsimd, one verb per RPC.
//
//   mmctl [--server ADDR] [--json] [--deadline 2s] [--tls [--tls_ca PEM]
//         [--tls_cert PEM --tls_key PEM]] [--token T | --token_file F]
//         VERB ARGS...
//
// Sizes and addresses take decimal, 0x hex, and K/M/G/T suffixes (8K =
// 8192). prot/flags/advice take names ("rw-", "private,anonymous",
// "dontneed") or Linux's numbers. Exit status: 0 success, 1 the call
// failed (the errno is printed), 2 usage error.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/maps_import.h"
#include "client/mm_client.h"
#include "core/limits.h"
#include "core/linux_error.h"
#include "google/protobuf/util/json_util.h"

namespace mmsim::client {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// ------------------------------------------------------------- arguments

// Options that take no value.
const absl::flat_hash_set<std::string>& BoolOptions() {
  static const auto* const kBool = new absl::flat_hash_set<std::string>{
      "json", "onfault", "kernel", "help", "tls"};
  return *kBool;
}

// Options every verb accepts.
const absl::flat_hash_set<std::string>& GlobalOptions() {
  static const auto* const kGlobal = new absl::flat_hash_set<std::string>{
      "server", "json",      "timeout",  "deadline", "help",
      "tls",    "tls-ca",    "tls-cert", "tls-key",  "tls-server-name",
      "token",  "token-file"};
  return *kGlobal;
}

struct Args {
  std::vector<std::string> positional;  // verb first
  absl::flat_hash_map<std::string, std::string> options;

  bool Has(const std::string& name) const { return options.contains(name); }
  std::string Get(const std::string& name, std::string def = "") const {
    auto it = options.find(name);
    return it == options.end() ? def : it->second;
  }
};

absl::StatusOr<Args> ParseArgs(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "-h") arg = "--help";
    if (!absl::ConsumePrefix(&arg, "--") || arg.empty()) {
      args.positional.emplace_back(argv[i]);
      continue;
    }
    std::string name, value;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
    } else if (BoolOptions().contains(arg)) {
      name = std::string(arg);
      value = "true";
    } else if (i + 1 < argc) {
      name = std::string(arg);
      value = argv[++i];
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("option --", arg, " needs a value"));
    }
    absl::StrReplaceAll({{"_", "-"}}, &name);
    args.options[name] = value;
  }
  return args;
}

// Parses "4096", "0x1000", "8K", "1M", "2g": bytes.
absl::StatusOr<uint64_t> ParseSize(absl::string_view text) {
  absl::string_view s = absl::StripAsciiWhitespace(text);
  uint64_t value = 0;
  if (absl::ConsumePrefix(&s, "0x") || absl::ConsumePrefix(&s, "0X")) {
    if (absl::SimpleHexAtoi(s, &value)) return value;
    return absl::InvalidArgumentError(absl::StrCat("bad number: ", text));
  }
  uint64_t shift = 0;
  if (!s.empty()) {
    switch (absl::ascii_toupper(s.back())) {
      case 'K':
        shift = 10;
        break;
      case 'M':
        shift = 20;
        break;
      case 'G':
        shift = 30;
        break;
      case 'T':
        shift = 40;
        break;
      default:
        break;
    }
  }
  if (shift != 0) s.remove_suffix(1);
  if (!absl::SimpleAtoi(s, &value) || (value << shift) >> shift != value) {
    return absl::InvalidArgumentError(absl::StrCat("bad size: ", text));
  }
  return value << shift;
}

absl::StatusOr<int> ParsePid(absl::string_view text) {
  int pid = 0;
  if (!absl::SimpleAtoi(text, &pid) || pid <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("bad pid: ", text));
  }
  return pid;
}

// Parses a comma-separated list of names from `table` (case-insensitive,
// '-' same as '_', an optional `prefix` such as "MAP_"), or a number.
absl::StatusOr<int> ParseBits(
    absl::string_view text, const absl::flat_hash_map<std::string, int>& table,
    absl::string_view prefix) {
  // A number, unless it is a name that starts with a digit ("32bit").
  if (absl::StatusOr<uint64_t> n = ParseSize(text); n.ok()) {
    return static_cast<int>(*n);
  }
  int bits = 0;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::string name = absl::AsciiStrToLower(part);
    absl::StrReplaceAll({{"-", "_"}}, &name);
    absl::string_view n = name;
    absl::ConsumePrefix(&n, absl::AsciiStrToLower(prefix));
    auto it = table.find(std::string(n));
    if (it == table.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown name: ", part));
    }
    bits |= it->second;
  }
  return bits;
}

const absl::flat_hash_map<std::string, int>& MapFlagNames() {
  static const auto* const kNames = new absl::flat_hash_map<std::string, int>{
      {"shared", kMapShared},
      {"private", kMapPrivate},
      {"shared_validate", kMapSharedValidate},
      {"fixed", kMapFixed},
      {"anonymous", kMapAnonymous},
      {"anon", kMapAnonymous},
      {"32bit", kMap32Bit},
      {"growsdown", kMapGrowsdown},
      {"denywrite", kMapDenywrite},
      {"executable", kMapExecutable},
      {"locked", kMapLocked},
      {"noreserve", kMapNoreserve},
      {"populate", kMapPopulate},
      {"nonblock", kMapNonblock},
      {"stack", kMapStack},
      {"hugetlb", kMapHugetlb},
      {"sync", kMapSync},
      {"fixed_noreplace", kMapFixedNoreplace},
      {"uninitialized", kMapUninitialized},
  };
  return *kNames;
}

const absl::flat_hash_map<std::string, int>& MadviseNames() {
  static const auto* const kNames = new absl::flat_hash_map<std::string, int>{
      {"normal", kMadvNormal},           {"random", kMadvRandom},
      {"sequential", kMadvSequential},   {"willneed", kMadvWillneed},
      {"dontneed", kMadvDontneed},       {"free", kMadvFree},
      {"remove", kMadvRemove},           {"dontfork", kMadvDontfork},
      {"dofork", kMadvDofork},           {"mergeable", kMadvMergeable},
      {"unmergeable", kMadvUnmergeable}, {"hugepage", kMadvHugepage},
      {"nohugepage", kMadvNohugepage},   {"dontdump", kMadvDontdump},
      {"dodump", kMadvDodump},           {"wipeonfork", kMadvWipeonfork},
      {"keeponfork", kMadvKeeponfork},   {"cold", kMadvCold},
      {"pageout", kMadvPageout},
  };
  return *kNames;
}

// "rw-", "r-x", "---", "none", "read,write" or a number.
absl::StatusOr<int> ParseProt(absl::string_view text) {
  static const auto* const kNames = new absl::flat_hash_map<std::string, int>{
      {"none", kProtNone},       {"read", kProtRead},
      {"write", kProtWrite},     {"exec", kProtExec},
      {"sem", kProtSem},         {"growsdown", kProtGrowsdown},
      {"growsup", kProtGrowsup},
  };
  if (text.size() == 3 &&
      absl::string_view("r-").find(text[0]) != absl::string_view::npos &&
      absl::string_view("w-").find(text[1]) != absl::string_view::npos &&
      absl::string_view("x-").find(text[2]) != absl::string_view::npos) {
    return (text[0] == 'r' ? kProtRead : 0) |
           (text[1] == 'w' ? kProtWrite : 0) | (text[2] == 'x' ? kProtExec : 0);
  }
  return ParseBits(text, *kNames, "PROT_");
}

// "unlimited"/"infinity" or a size.
absl::StatusOr<uint64_t> ParseRlim(absl::string_view text) {
  if (text == "unlimited" || text == "infinity") return kRlimInfinity;
  return ParseSize(text);
}

// ------------------------------------------------------------- output

std::string Hex(uint64_t v) { return absl::StrFormat("0x%x", v); }

std::string Json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options)
           .ok()) {
    return "{}";
  }
  return out;
}

std::string PagesText(uint64_t pages) {
  return absl::StrCat(pages, " pages (", pages * kPageSize / 1024, " KiB)");
}

std::string RlimText(uint64_t v) {
  return v == kRlimInfinity ? "unlimited" : absl::StrCat(v);
}

std::string VmaLine(const v1::VmaInfo& vma) {
  std::string name =
      vma.file_name().empty() ? vma.special_name() : vma.file_name();
  return absl::StrFormat(
      "%012x-%012x %s pgoff=%#-11x flags=%#-10x anon_vma=%-4d %s", vma.start(),
      vma.end(), vma.perms(), vma.pgoff(), vma.vm_flags(), vma.anon_vma(),
      name);
}

// ------------------------------------------------------------- verbs

struct Context {
  const Args& args;
  MmClient& client;
  bool json;
  std::string verb;
};

// The result of a verb: ok, a failed call, or bad usage.
struct Outcome {
  int exit_code;
  absl::Status status;
};

Outcome Ok() { return {kExitOk, absl::OkStatus()}; }
Outcome Failed(absl::Status s) { return {kExitFailed, std::move(s)}; }
Outcome Usage(absl::Status s) { return {kExitUsage, std::move(s)}; }
Outcome Usage(absl::string_view what) {
  return Usage(absl::InvalidArgumentError(what));
}

// Evaluates a parse of a command-line value; on error, returns Usage.
#define MMCTL_PARSE(lhs, expr)                               \
  auto MMCTL_CONCAT_(parsed_, __LINE__) = (expr);            \
  if (!MMCTL_CONCAT_(parsed_, __LINE__).ok())                \
    return Usage(MMCTL_CONCAT_(parsed_, __LINE__).status()); \
  lhs = *MMCTL_CONCAT_(parsed_, __LINE__)
#define MMCTL_CONCAT_INNER_(a, b) a##b
#define MMCTL_CONCAT_(a, b) MMCTL_CONCAT_INNER_(a, b)

// Returns positional argument `i` (after the verb), or "" if absent.
std::string Pos(const Context& c, size_t i) {
  return i < c.args.positional.size() ? c.args.positional[i] : "";
}

// For calls that return nothing: silent on success, {} with --json.
Outcome Done(const Context& c, const absl::Status& status) {
  if (!status.ok()) return Failed(status);
  if (c.json) std::printf("{}\n");
  return Ok();
}

Outcome PrintAddr(const Context& c, const absl::StatusOr<uint64_t>& addr,
                  absl::string_view field) {
  if (!addr.ok()) return Failed(addr.status());
  if (c.json) {
    std::printf("{\"%s\":\"%llu\"}\n", std::string(field).c_str(),
                static_cast<unsigned long long>(*addr));
  } else {
    std::printf("%s\n", Hex(*addr).c_str());
  }
  return Ok();
}

Outcome CreateFromMaps(Context& c, const std::string& path,
                       v1::CreateProcessRequest* base) {
  std::ifstream in(path);
  if (!in)
    return Usage(absl::NotFoundError(absl::StrCat("cannot read ", path)));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<ImportedProcess> imported = ParseProcMaps(text.str());
  if (!imported.ok()) return Usage(imported.status());
  v1::ProcessDescription* desc = imported->request.mutable_description();
  // /proc/N/maps: the layout fields are in /proc/N/stat.
  if (absl::StartsWith(path, "/proc/") && absl::EndsWith(path, "/maps")) {
    std::ifstream stat(path.substr(0, path.size() - 4) + "stat");
    std::string line;
    if (stat && std::getline(stat, line)) {
      ParseProcStatLayout(line, desc->mutable_layout()).IgnoreError();
    }
  }
  for (const v1::CreateFileRequest& f : imported->files) {
    absl::StatusOr<v1::FileInfo> file =
        c.client.CreateFile(f.name(), f.size(), f.mode());
    if (!file.ok() &&
        file.status().code() != absl::StatusCode::kAlreadyExists) {
      return Failed(file.status());
    }
  }
  *base->mutable_description() = *desc;
  return Ok();
}

// The options of an exec image: --exe NAME, --code/--data/--bss/--heap/
// --stack SIZE.
const std::vector<std::string>& ExecOptions() {
  static const auto* const kOptions = new std::vector<std::string>{
      "exe", "code", "data", "bss", "heap", "stack"};
  return *kOptions;
}

Outcome ParseExecImage(const Context& c, v1::ExecImage* exec) {
  if (c.args.Has("exe")) exec->set_exe_name(c.args.Get("exe"));
  const std::pair<const char*, void (v1::ExecImage::*)(uint64_t)> sizes[] = {
      {"code", &v1::ExecImage::set_code_bytes},
      {"data", &v1::ExecImage::set_data_bytes},
      {"bss", &v1::ExecImage::set_bss_bytes},
      {"heap", &v1::ExecImage::set_heap_bytes},
      {"stack", &v1::ExecImage::set_stack_bytes},
  };
  for (const auto& [name, setter] : sizes) {
    if (!c.args.Has(name)) continue;
    MMCTL_PARSE(uint64_t bytes, ParseSize(c.args.Get(name)));
    (exec->*setter)(bytes);
  }
  return Ok();
}

Outcome CmdCreate(Context& c) {
  v1::CreateProcessRequest req;
  v1::MmConfig* config = req.mutable_config();
  if (c.args.Has("max-map-count")) {
    MMCTL_PARSE(uint64_t n, ParseSize(c.args.Get("max-map-count")));
    config->set_max_map_count(static_cast<int32_t>(n));
  }
  if (c.args.Has("mmap-base")) {
    MMCTL_PARSE(uint64_t base, ParseSize(c.args.Get("mmap-base")));
    config->set_mmap_base(base);
  }
  if (c.args.Has("mmap-min-addr")) {
    MMCTL_PARSE(uint64_t min, ParseSize(c.args.Get("mmap-min-addr")));
    config->set_mmap_min_addr(min);
  }
  if (c.args.Has("from-maps")) {
    Outcome o = CreateFromMaps(c, c.args.Get("from-maps"), &req);
    if (o.exit_code != kExitOk) return o;
  } else {
    Outcome o = ParseExecImage(c, req.mutable_exec());
    if (o.exit_code != kExitOk) return o;
  }
  absl::StatusOr<int> pid = c.client.CreateProcess(req);
  if (!pid.ok()) return Failed(pid.status());
  if (c.json) {
    v1::CreateProcessResponse resp;
    resp.set_pid(*pid);
    std::printf("%s\n", Json(resp).c_str());
  } else {
    std::printf("%d\n", *pid);
  }
  return Ok();
}

Outcome CmdRm(Context& c) {
  MMCTL_PARSE(int pid, ParsePid(Pos(c, 1)));
  return Done(c, c.client.RemoveProcess(pid));
}

Outcome CmdPs(Context& c) {
  absl::StatusOr<std::vector<v1::ProcessSummary>> ps = c.client.ListProcesses();
  if (!ps.ok()) return Failed(ps.status());
  if (c.json) {
    v1::ListProcessesResponse resp;
    for (const auto& p : *ps) *resp.add_processes() = p;
    std::printf("%s\n", Json(resp).c_str());
    return Ok();
  }
  std::printf("%7s %9s %12s\n", "PID", "MAP_COUNT", "TOTAL_VM_KB");
  for (const auto& p : *ps) {
    std::printf(
        "%7d %9d %12llu\n", p.pid(), p.map_count(),
        static_cast<unsigned long long>(p.total_vm() * kPageSize / 1024));
  }
  return Ok();
}

Outcome CmdPrlimit(Context& c) {
  MMCTL_PARSE(int pid, ParsePid(Pos(c, 1)));
  static const auto* const kResources =
      new absl::flat_hash_map<std::string, v1::RlimitResource>{
          {"as", v1::RLIMIT_RESOURCE_AS},
          {"data", v1::RLIMIT_RESOURCE_DATA},
          {"stack", v1::RLIMIT_RESOURCE_STACK},
          {"memlock", v1::RLIMIT_RESOURCE_MEMLOCK}};
  std::string name = absl::AsciiStrToLower(Pos(c, 2));
  absl::string_view n = name;
  absl::ConsumePrefix(&n, "rlimit_");
  auto it = kResources->find(std::string(n));
  if (it == kResources->end()) {
    return Usage("resource must be as, data, stack or memlock");
  }
  MMCTL_PARSE(uint64_t cur, ParseRlim(Pos(c, 3)));
  uint64_t max = cur;
  if (!Pos(c, 4).empty()) {
    MMCTL_PARSE(max, ParseRlim(Pos(c, 4)));
  }
  absl::StatusOr<v1::Rlimit> old =
      c.client.SetRlimit(pid, it->second, cur, max);
  if (!old.ok()) return Failed(old.status());
  if (c.json) {
    v1::SetRlimitResponse resp;
    *resp.mutable_old_limit() = *old;
    std::printf("%s\n", Json(resp).c_str());
  } else {
    std::printf("old: cur=%s max=%s\n", RlimText(old->cur()).c_str(),
                RlimText(old->max()).c_str());
  }
  return Ok();
}

Outcome CmdFile(Context& c) {
  const std::string sub = Pos(c, 1);
  if (sub == "create") {
    if (Pos(c, 2).empty()) return Usage("file create NAME --size SIZE");
    MMCTL_PARSE(uint64_t size, ParseSize(c.args.Get("size", "0")));
    uint32_t mode = 0644;
    if (c.args.Has("mode")) {
      if (!absl::numbers_internal::safe_strtou32_base(c.args.Get("mode"), &mode,
                                                      8)) {
        return Usage("--mode is octal, like 0644");
      }
    }
    absl::StatusOr<v1::FileInfo> file =
        c.client.CreateFile(Pos(c, 2), size, mode);
    if (!file.ok()) return Failed(file.status());
    if (c.json) {
      std::printf("%s\n", Json(*file).c_str());
    } else {
      std::printf("%s inode %llu\n", file->name().c_str(),
                  static_cast<unsigned long long>(file->inode()));
    }
    return Ok();
  }
  if (sub == "ls") {
    absl::StatusOr<std::vector<v1::FileInfo>> files = c.client.ListFiles();
    if (!files.ok()) return Failed(files.status());
    if (c.json) {
      v1::ListFilesResponse resp;
      for (const auto& f : *files) *resp.add_files() = f;
      std::printf("%s\n", Json(resp).c_str());
      return Ok();
    }
    for (const auto& f : *files) {
      std::printf("%8llu %04o %12llu %s\n",
                  static_cast<unsigned long long>(f.inode()), f.mode(),
                  static_cast<unsigned long long>(f.size()), f.name().c_str());
    }
    return Ok();
  }
  return Usage("file create NAME --size SIZE [--mode 0644] | file ls");
}

Outcome CmdMmap(Context& c) {
  MMCTL_PARSE(int pid, ParsePid(Pos(c, 1)));
  if (!c.args.Has("len")) return Usage("mmap needs --len");
  v1::MmapRequest req;
  req.set_pid(pid);
  MMCTL_PARSE(uint64_t len, ParseSize(c.args.Get("len")));
  req.set_len(len);
  MMCTL_PARSE(uint64_t addr, ParseSize(c.args.Get("addr", "0")));
  req.set_addr(addr);
  MMCTL_PARSE(int prot, ParseProt(c.args.Get("prot", "rw-")));
  req.set_prot(prot);
  const bool file = c.args.Has("file");
  MMCTL_PARSE(
      int flags,
      ParseBits(c.args.Get("flags", file ? "private" : "private,anonymous"),
                MapFlagNames(), "MAP_"));
  req.set_flags(flags);
  if (file) {
    req.set_file(c.args.Get("file"));
    MMCTL_PARSE(uint64_t offset, ParseSize(c.args.Get("offset", "0")));
    req.set_offset(offset);
    const std::string mode = c.args.Get("mode", "r");
    if (mode == "r") {
      req.set_open_mode(v1::OPEN_MODE_READ);
    } else if (mode == "w") {
      req.set_open_mode(v1::OPEN_MODE_WRITE);
    } else if (mode == "rw") {
      req.set_open_mode(v1::OPEN_MODE_READ_WRITE);
    } else {
      return Usage("--mode is r, w or rw");
    }
  }
  return PrintAddr(c, c.client.Mmap(req), "addr");
}

// Parses "PID ADDR LEN" starting at positional 1.
struct Range {
  int pid = 0;
  uint64_t addr = 0;
  uint64_t len = 0;
};
absl::StatusOr<Range> ParseRange(const Context& c) {
  Range r;
  absl::StatusOr<int> pid = ParsePid(Pos(c, 1));
  if (!pid.ok()) return pid.status();
  r.pid = *pid;
  absl::StatusOr<uint64_t> addr = ParseSize(Pos(c, 2));
  if (!addr.ok()) return addr.status();
  r.addr = *addr;
  absl::StatusOr<uint64_t> len = ParseSize(Pos(c, 3));
  if (!len.ok()) return len.status();
  r.len = *len;
  return r;
}

Outcome CmdMunmap(Context& c) {
  MMCTL_PARSE(Range r, ParseRange(c));
  return Done(c, c.client.Munmap(r.pid, r.addr, r.len));
}

Outcome CmdMprotect(Context& c) {
  MMCTL_PARSE(Range r, ParseRange(c));
  if (!c.args.Has("prot")) return Usage("mprotect needs --prot");
  MMCTL_PARSE(int prot, ParseProt(c.args.Get("prot")));
  return Done(c, c.client.Mprotect(r.pid, r.addr, r.len, prot));
}

Outcome CmdMremap(Context& c) {
  MMCTL_PARSE(Range r, ParseRange(c));
  MMCTL_PARSE(uint64_t new_len, ParseSize(Pos(c, 4)));
  static const auto* const kNames = new absl::flat_hash_map<std::string, int>{
      {"maymove", kMremapMaymove},
      {"fixed", kMremapFixed},
      {"dontunmap", kMremapDontunmap}};
  MMCTL_PARSE(int flags,
              ParseBits(c.args.Get("flags", ""), *kNames, "MREMAP_"));
  MMCTL_PARSE(uint64_t new_addr, ParseSize(c.args.Get("new-addr", "0")));
  return PrintAddr(
      c, c.client.Mremap(r.pid, r.addr, r.len, new_len, flags, new_addr),
      "addr");
}

Outcome CmdBrk(Context& c) {
  MMCTL_PARSE(int pid, ParsePid(Pos(c, 1)));
  uint64_t brk = 0;
  if (!Pos(c, 2).empty()) {
    MMCTL_PARSE(brk, ParseSize(Pos(c, 2)));
  }
  return PrintAddr(c, c.client.Brk(pid, brk), "brk");
}

Outcome CmdMlock(Context& c) {
  MMCTL_PARSE(Range r, ParseRange(c));
  const int flags = c.args.Has("onfault") ? kMlockOnfault : 0;
  return Done(c, c.client.Mlock(r.pid, r.addr, r.len, flags));
}

Outcome CmdMunlock(Context& c) {
  MMCTL_PARSE(Range r, ParseRange(c));
  return Done(c, c.client.Munlock(r.pid, r.addr, r.len));
}

Outcome CmdMlockall(Context& c) {
  MMCTL_PARSE(int pid, ParsePid(Pos(c, 1)));
  static const auto* const kNames =
      new absl::flat_hash_map<std::string, int>{{"current", kMclCurrent},
                                                {"future", kMclFuture},
                                                {"onfault", kMclOnfault}};
  MMCTL_PARSE(int flags,
              ParseBits(c.args.Get("flags", "current"), *kNames, "MCL_"));
  return Done(c, c.client.Mlockall(pid, flags));
}

Outcome CmdMunlockall(Context& c) {
  MMCTL_PARSE(int pid, ParsePid(Pos(c, 1)));
  return Done(c, c.client.Munlockall(pid));
}

Outcome CmdMadvise(Context& c) {
  MMCTL_PARSE(Range r, ParseRange(c));
  if (Pos(c, 4).empty()) return Usage("madvise PID ADDR LEN ADVICE");
  MMCTL_PARSE(int advice, ParseBits(Pos(c, 4), MadviseNames(), "MADV_"));
  return Done(c, c.client.Madvise(r.pid, r.addr, r.len, advice));
}

Outcome CmdFindVma(Context& c) {
  MMCTL_PARSE(int pid, ParsePid(Pos(c, 1)));
  MMCTL_PARSE(uint64_t addr, ParseSize(Pos(c, 2)));
  static const auto* const kModes =
      new absl::flat_hash_map<std::string, v1::FindMode>{
          {"find", v1::FIND_VMA},
          {"prev", v1::FIND_VMA_PREV},
          {"lookup", v1::VMA_LOOKUP},
          {"intersection", v1::FIND_INTERSECTION}};
  auto mode = kModes->find(c.args.Get("mode", "find"));
  if (mode == kModes->end()) {
    return Usage("--mode is find, prev, lookup or intersection");
  }
  MMCTL_PARSE(uint64_t end, ParseSize(c.args.Get("end", "0")));
  absl::StatusOr<v1::FindVmaResponse> resp =
      c.client.FindVma(pid, addr, mode->second, end);
  if (!resp.ok()) return Failed(resp.status());
  if (c.json) {
    std::printf("%s\n", Json(*resp).c_str());
    return Ok();
  }
  if (mode->second == v1::FIND_VMA_PREV) {
    std::printf("prev: %s\n",
                resp->has_prev() ? VmaLine(resp->prev()).c_str() : "(none)");
  }
  std::printf("%s\n",
              resp->has_vma() ? VmaLine(resp->vma()).c_str() : "(none)");
  return Ok();
}

Outcome CmdUnmappedArea(Context& c) {
  MMCTL_PARSE(int pid, ParsePid(Pos(c, 1)));
  if (!c.args.Has("len")) return Usage("unmapped-area needs --len");
  v1::GetUnmappedAreaRequest req;
  req.set_pid(pid);
  MMCTL_PARSE(uint64_t len, ParseSize(c.args.Get("len")));
  req.set_len(len);
  MMCTL_PARSE(uint64_t addr, ParseSize(c.args.Get("addr", "0")));
  req.set_addr(addr);
  MMCTL_PARSE(uint64_t pgoff, ParseSize(c.args.Get("pgoff", "0")));
  req.set_pgoff(pgoff);
  MMCTL_PARSE(int flags, ParseBits(c.args.Get("flags", "private,anonymous"),
                                   MapFlagNames(), "MAP_"));
  req.set_flags(flags);
  req.set_file(c.args.Get("file", ""));
  return PrintAddr(c, c.client.GetUnmappedArea(req), "addr");
}

Outcome CmdMaps(Context& c) {
  MMCTL_PARSE(int pid, ParsePid(Pos(c, 1)));
  absl::StatusOr<std::string> maps = c.client.GetMaps(pid);
  if (!maps.ok()) return Failed(maps.status());
  if (c.json) {
    v1::GetMapsResponse resp;
    resp.set_text(*maps);
    std::printf("%s\n", Json(resp).c_str());
  } else {
    std::fputs(maps->c_str(), stdout);
  }
  return Ok();
}

Outcome CmdVmas(Context& c) {
  MMCTL_PARSE(int pid, ParsePid(Pos(c, 1)));
  absl::StatusOr<std::vector<v1::VmaInfo>> vmas = c.client.ListVmas(pid);
  if (!vmas.ok()) return Failed(vmas.status());
  if (c.json) {
    v1::ListVmasResponse resp;
    for (const auto& v : *vmas) *resp.add_vmas() = v;
    std::printf("%s\n", Json(resp).c_str());
    return Ok();
  }
  for (const auto& v : *vmas) std::printf("%s\n", VmaLine(v).c_str());
  return Ok();
}

Outcome CmdMm(Context& c) {
  MMCTL_PARSE(int pid, ParsePid(Pos(c, 1)));
  absl::StatusOr<v1::GetMmResponse> mm = c.client.GetMm(pid);
  if (!mm.ok()) return Failed(mm.status());
  if (c.json) {
    std::printf("%s\n", Json(*mm).c_str());
    return Ok();
  }
  const v1::Layout& l = mm->layout();
  const v1::Rlimits& r = mm->rlimits();
  std::printf(
      "pid            %d\nmap_count      %d (max %d)\ntotal_vm       %s\n"
      "locked_vm      %s\ndata_vm        %s\nexec_vm        %s\n"
      "stack_vm       %s\nhiwater_vm     %s\ndef_flags      %s\n"
      "mm_users       %d\nmm_count       %d\nmmap_base      %s\n"
      "mmap_min_addr  %s\n"
      "code           %s-%s\ndata           %s-%s\nbrk            %s-%s\n"
      "start_stack    %s\nargs           %s-%s\nenv            %s-%s\n"
      "RLIMIT_AS      %s / %s\nRLIMIT_DATA    %s / %s\n"
      "RLIMIT_STACK   %s / %s\nRLIMIT_MEMLOCK %s / %s\n",
      mm->pid(), mm->map_count(), mm->max_map_count(),
      PagesText(mm->total_vm()).c_str(), PagesText(mm->locked_vm()).c_str(),
      PagesText(mm->data_vm()).c_str(), PagesText(mm->exec_vm()).c_str(),
      PagesText(mm->stack_vm()).c_str(), PagesText(mm->hiwater_vm()).c_str(),
      Hex(mm->def_flags()).c_str(), mm->mm_users(), mm->mm_count(),
      Hex(mm->mmap_base()).c_str(), Hex(mm->mmap_min_addr()).c_str(),
      Hex(l.start_code()).c_str(), Hex(l.end_code()).c_str(),
      Hex(l.start_data()).c_str(), Hex(l.end_data()).c_str(),
      Hex(l.start_brk()).c_str(), Hex(l.brk()).c_str(),
      Hex(l.start_stack()).c_str(), Hex(l.arg_start()).c_str(),
      Hex(l.arg_end()).c_str(), Hex(l.env_start()).c_str(),
      Hex(l.env_end()).c_str(), RlimText(r.as().cur()).c_str(),
      RlimText(r.as().max()).c_str(), RlimText(r.data().cur()).c_str(),
      RlimText(r.data().max()).c_str(), RlimText(r.stack().cur()).c_str(),
      RlimText(r.stack().max()).c_str(), RlimText(r.memlock().cur()).c_str(),
      RlimText(r.memlock().max()).c_str());
  const v1::PageStats& p = mm->pages();
  std::printf(
      "rss_anon       %s\nrss_file       %s\nrss_shmem      %s\n"
      "swap_ents      %s\nhiwater_rss    %s\npgtable        %s\n"
      "faults         min %llu maj %llu cow %llu segv %llu/%llu (maperr/"
      "accerr) vmalloc_syncs %llu\nmm_id          %llu\n",
      PagesText(p.rss_anon()).c_str(), PagesText(p.rss_file()).c_str(),
      PagesText(p.rss_shmem()).c_str(), PagesText(p.rss_swap()).c_str(),
      PagesText(p.hiwater_rss()).c_str(), PagesText(p.pgtable_pages()).c_str(),
      static_cast<unsigned long long>(p.min_flt()),
      static_cast<unsigned long long>(p.maj_flt()),
      static_cast<unsigned long long>(p.cow_faults()),
      static_cast<unsigned long long>(p.segv_maperr()),
      static_cast<unsigned long long>(p.segv_accerr()),
      static_cast<unsigned long long>(p.vmalloc_syncs()),
      static_cast<unsigned long long>(mm->mm_id()));
  return Ok();
}

// ------------------------------------------------------------- tasks

// A non-negative integer (a CPU number, or a pid where 0 is the idle task).
absl::StatusOr<int> ParseIndex(absl::string_view text, absl::string_view what) {
  int n = 0;
  if (!absl::SimpleAtoi(text, &n) || n < 0) {
    return absl::InvalidArgumentError(absl::StrCat("bad ", what, ": ", text));
  }
  return n;
}

// Prints a new task's pid: "PID" or {"pid":PID}.
Outcome PrintPid(const Context& c, const absl::StatusOr<int>& pid) {
  if (!pid.ok()) return Failed(pid.status());
  if (c.json) {
    std::printf("{\"pid\":%d}\n", *pid);
  } else {
    std::printf("%d\n", *pid);
  }
  return Ok();
}

// Prints `text` as is, or {"text": ...} with --json.
Outcome PrintText(const Context& c, const absl::StatusOr<std::string>& text) {
  if (!text.ok()) return Failed(text.status());
  if (c.json) {
    v1::GetStatusResponse resp;  // any message with one text field
    resp.set_text(*text);
    std::printf("%s\n", Json(resp).c_str());
  } else {
    std::fputs(text->c_str(), stdout);
  }
  return Ok();
}

// Prints a whole response as JSON; returns false when not --json.
bool MaybeJson(const Context& c, const google::protobuf::Message& message) {
  if (c.json) std::printf("%s\n", Json(message).c_str());
  return c.json;
}

// An enum value's name without its prefix, lower case: FAULT_KIND_MINOR ->
// "minor".
std::string EnumText(const std::string& name, absl::string_view prefix) {
  absl::string_view n = name;
  absl::ConsumePrefix(&n, prefix);
  return absl::AsciiStrToLower(n);
}

std::string MmIdText(uint64_t id) { return id == 0 ? "-" : absl::StrCat(id); }

Outcome CmdClone(Context& c) {
  MMCTL_PARSE(int pid, ParsePid(Pos(c, 1)));
  static const auto* const kNames = new absl::flat_hash_map<std::string, int>{
      {"vm", 0x100}, {"thread", 0x10000}};
  MMCTL_PARSE(int flags, ParseBits(c.args.Get("flags", ""), *kNames, "CLONE_"));
  return PrintPid(c, c.client.Clone(pid, flags));
}

Outcome CmdFork(Context& c) {
  MMCTL_PARSE(int pid, ParsePid(Pos(c, 1)));
  return PrintPid(c, c.client.Fork(pid));
}

Outcome CmdExec(Context& c) {
  MMCTL_PARSE(int pid, ParsePid(Pos(c, 1)));
  v1::ExecImage image;
  Outcome o = ParseExecImage(c, &image);
  if (o.exit_code != kExitOk) return o;
  return PrintPid(c, c.client.Exec(pid, image));
}

Outcome CmdExit(Context& c) {
  MMCTL_PARSE(int pid, ParsePid(Pos(c, 1)));
  return Done(c, c.client.Exit(pid));
}

Outcome CmdKthread(Context& c) {
  if (Pos(c, 1).empty()) return Usage("kthread NAME");
  return PrintPid(c, c.client.CreateKernelThread(Pos(c, 1)));
}

Outcome CmdSchedule(Context& c) {
  MMCTL_PARSE(int cpu, ParseIndex(Pos(c, 1), "cpu"));
  MMCTL_PARSE(int pid, ParseIndex(Pos(c, 2), "pid"));
  return Done(c, c.client.Schedule(cpu, pid));
}

// ------------------------------------------------------------- pages

Outcome CmdTouch(Context& c) {
  MMCTL_PARSE(int pid, ParsePid(Pos(c, 1)));
  MMCTL_PARSE(uint64_t addr, ParseSize(Pos(c, 2)));
  static const auto* const kAccess =
      new absl::flat_hash_map<std::string, v1::FaultAccess>{
          {"read", v1::FAULT_ACCESS_READ},
          {"write", v1::FAULT_ACCESS_WRITE},
          {"exec", v1::FAULT_ACCESS_EXEC}};
  auto access = kAccess->find(c.args.Get("access", "read"));
  if (access == kAccess->end()) return Usage("--access is read, write or exec");
  absl::StatusOr<v1::TouchResponse> r =
      c.client.Touch(pid, addr, access->second, c.args.Has("kernel"));
  if (!r.ok()) return Failed(r.status());
  if (MaybeJson(c, *r)) return Ok();
  std::string line = absl::StrCat(
      EnumText(v1::FaultKind_Name(r->kind()), "FAULT_KIND_"), " ",
      EnumText(v1::FaultSource_Name(r->source()), "FAULT_SOURCE_"));
  if (r->si_code() != 0) absl::StrAppend(&line, " si_code=", r->si_code());
  if (r->stack_expanded()) absl::StrAppend(&line, " stack_expanded");
  if (r->vmalloc_synced()) absl::StrAppend(&line, " vmalloc_synced");
  if (r->oom_victim_pid() != 0) {
    absl::StrAppend(&line, " oom_victim=", r->oom_victim_pid());
  }
  if (r->oom_killed_self()) absl::StrAppend(&line, " oom_killed_self");
  std::printf("%s\n", line.c_str());
  return Ok();
}

Outcome CmdMincore(Context& c) {
  MMCTL_PARSE(Range r, ParseRange(c));
  absl::StatusOr<std::string> vec = c.client.Mincore(r.pid, r.addr, r.len);
  if (!vec.ok()) return Failed(vec.status());
  // One character per page: 1 resident, 0 not.
  std::string bits;
  for (char byte : *vec) bits.push_back((byte & 1) != 0 ? '1' : '0');
  const size_t resident = std::count(bits.begin(), bits.end(), '1');
  if (c.json) {
    std::printf("{\"pages\":%zu,\"resident\":%zu,\"vec\":\"%s\"}\n",
                bits.size(), resident, bits.c_str());
  } else {
    std::printf("%s\n%zu of %zu pages resident\n", bits.c_str(), resident,
                bits.size());
  }
  return Ok();
}

Outcome CmdVmalloc(Context& c) {
  MMCTL_PARSE(uint64_t pages, ParseSize(Pos(c, 1)));
  return PrintAddr(c, c.client.Vmalloc(pages), "addr");
}

Outcome CmdVfree(Context& c) {
  MMCTL_PARSE(uint64_t addr, ParseSize(Pos(c, 1)));
  return Done(c, c.client.Vfree(addr));
}

Outcome CmdReclaim(Context& c) {
  MMCTL_PARSE(uint64_t pages, ParseSize(Pos(c, 1)));
  absl::StatusOr<uint64_t> freed = c.client.Reclaim(pages);
  if (!freed.ok()) return Failed(freed.status());
  v1::ReclaimResponse resp;
  resp.set_freed(*freed);
  if (!MaybeJson(c, resp)) {
    std::printf("freed %llu pages\n", static_cast<unsigned long long>(*freed));
  }
  return Ok();
}

// ------------------------------------------------------------- views

Outcome CmdSmaps(Context& c) {
  MMCTL_PARSE(int pid, ParsePid(Pos(c, 1)));
  absl::StatusOr<v1::GetSmapsResponse> smaps = c.client.GetSmaps(pid);
  if (!smaps.ok()) return Failed(smaps.status());
  if (!MaybeJson(c, *smaps)) std::fputs(smaps->text().c_str(), stdout);
  return Ok();
}

Outcome CmdStatus(Context& c) {
  MMCTL_PARSE(int pid, ParsePid(Pos(c, 1)));
  return PrintText(c, c.client.GetStatus(pid));
}

Outcome CmdTasks(Context& c) {
  absl::StatusOr<std::vector<v1::TaskInfo>> tasks = c.client.ListTasks();
  if (!tasks.ok()) return Failed(tasks.status());
  v1::ListTasksResponse resp;
  for (const auto& t : *tasks) *resp.add_tasks() = t;
  if (MaybeJson(c, resp)) return Ok();
  std::printf("%7s %7s %7s %-13s %-16s %3s %5s %9s\n", "PID", "TGID", "PPID",
              "KIND", "COMM", "CPU", "MM", "ACTIVE_MM");
  for (const auto& t : *tasks) {
    std::printf(
        "%7d %7d %7d %-13s %-16s %3s %5s %9s\n", t.pid(), t.tgid(), t.ppid(),
        EnumText(v1::TaskKind_Name(t.kind()), "TASK_KIND_").c_str(),
        t.comm().c_str(), t.cpu() < 0 ? "-" : absl::StrCat(t.cpu()).c_str(),
        MmIdText(t.mm_id()).c_str(), MmIdText(t.active_mm_id()).c_str());
  }
  return Ok();
}

Outcome CmdMmlist(Context& c) {
  absl::StatusOr<std::vector<v1::MmInfo>> mms = c.client.ListMms();
  if (!mms.ok()) return Failed(mms.status());
  v1::ListMmsResponse resp;
  for (const auto& m : *mms) *resp.add_mms() = m;
  if (MaybeJson(c, resp)) return Ok();
  std::printf("%5s %5s %5s %9s %-16s %9s %8s %8s %8s %8s\n", "MM_ID", "USERS",
              "COUNT", "ON_MMLIST", "PIDS", "MAP_COUNT", "RSS_ANON", "RSS_FILE",
              "RSS_SHM", "SWAP");
  for (const auto& m : *mms) {
    std::string pids =
        m.is_init_mm() ? "init_mm" : absl::StrJoin(m.pids(), ",");
    if (pids.empty()) pids = "-";
    const v1::PageStats& p = m.pages();
    std::printf("%5llu %5d %5d %9s %-16s %9d %8llu %8llu %8llu %8llu\n",
                static_cast<unsigned long long>(m.mm_id()), m.mm_users(),
                m.mm_count(), m.on_mmlist() ? "yes" : "no", pids.c_str(),
                m.map_count(), static_cast<unsigned long long>(p.rss_anon()),
                static_cast<unsigned long long>(p.rss_file()),
                static_cast<unsigned long long>(p.rss_shmem()),
                static_cast<unsigned long long>(p.rss_swap()));
  }
  return Ok();
}

Outcome CmdCpus(Context& c) {
  absl::StatusOr<std::vector<v1::CpuInfo>> cpus = c.client.ListCpus();
  if (!cpus.ok()) return Failed(cpus.status());
  v1::ListCpusResponse resp;
  for (const auto& cpu : *cpus) *resp.add_cpus() = cpu;
  if (MaybeJson(c, resp)) return Ok();
  std::printf("%3s %7s %9s\n", "CPU", "CURR", "ACTIVE_MM");
  for (const auto& cpu : *cpus) {
    std::printf("%3d %7d %9s\n", cpu.cpu(), cpu.curr_pid(),
                MmIdText(cpu.active_mm_id()).c_str());
  }
  return Ok();
}

Outcome CmdStats(Context& c) {
  absl::StatusOr<v1::GetSystemStatsResponse> s = c.client.GetSystemStats();
  if (!s.ok()) return Failed(s.status());
  if (MaybeJson(c, *s)) return Ok();
  const v1::PhysStats& p = s->phys();
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  std::printf(
      "processes        %d\nlwps             %d\nkernel_threads   %d\n"
      "mmlist_nr        %d\nmm_descriptors   %d\n"
      "frames           %llu free of %llu\npage_cache       %llu pages\n"
      "kernel_pages     %llu\nswap             %llu free of %llu\n"
      "swap_cache       %llu pages\nswap_outs        %llu\n"
      "swap_ins         %llu\nvmalloc_pages    %llu\n"
      "forks            %llu\nclones           %llu\nexecs            %llu\n"
      "exits            %llu\nreclaim_runs     %llu\noom_kills        %llu\n",
      s->processes(), s->lwps(), s->kernel_threads(), s->mmlist_nr(),
      s->mm_descriptors(), u(p.frames_free()), u(p.frames_total()),
      u(p.page_cache_pages()), u(p.kernel_pages()), u(p.swap_free()),
      u(p.swap_total()), u(p.swap_cache_pages()), u(p.swap_outs()),
      u(p.swap_ins()), u(s->vmalloc_pages()), u(s->forks()), u(s->clones()),
      u(s->execs()), u(s->exits()), u(s->reclaim_runs()), u(s->oom_kills()));
  for (const v1::OomEvent& e : s->oom_events()) {
    std::printf("oom: killed %d (mm %llu, rss %llu, swap %llu) for %d\n",
                e.victim_pid(), u(e.victim_mm_id()), u(e.rss_pages()),
                u(e.swap_pages()), e.triggered_by_pid());
  }
  return Ok();
}

// "850ns", "4.1us", "2.30ms", "1.25s".
std::string DurationText(double seconds) {
  if (seconds < 1e-6) return absl::StrFormat("%.0fns", seconds * 1e9);
  if (seconds < 1e-3) return absl::StrFormat("%.1fus", seconds * 1e6);
  if (seconds < 1) return absl::StrFormat("%.2fms", seconds * 1e3);
  return absl::StrFormat("%.2fs", seconds);
}

// The upper bound of the bucket where the q-quantile of `buckets` falls
// ("+Inf" past the last bound); "-" when the histogram is empty.
std::string QuantileBound(
    const google::protobuf::RepeatedField<uint64_t>& buckets,
    const v1::GetLockStatsResponse& s, double q) {
  uint64_t total = 0;
  for (uint64_t count : buckets) total += count;
  if (total == 0) return "-";
  const double rank = q * static_cast<double>(total);
  uint64_t seen = 0;
  for (int i = 0; i < buckets.size(); ++i) {
    seen += buckets[i];
    if (static_cast<double>(seen) >= rank) {
      if (i >= s.bucket_upper_bounds_seconds_size()) return "+Inf";
      return "<=" + DurationText(s.bucket_upper_bounds_seconds(i));
    }
  }
  return "+Inf";
}

Outcome CmdLocks(Context& c) {
  absl::StatusOr<v1::GetLockStatsResponse> s = c.client.GetLockStats();
  if (!s.ok()) return Failed(s.status());
  if (MaybeJson(c, *s)) return Ok();
  std::printf("%-15s %-9s %12s %10s %6s %10s %10s %10s %10s\n", "LOCK", "MODE",
              "ACQUIRED", "CONTENDED", "CONT%", "WAIT_AVG", "WAIT_P99",
              "HOLD_AVG", "HOLD_P99");
  for (const v1::LockStat& l : s->locks()) {
    const double acquired = static_cast<double>(l.acquisitions());
    const double contended = static_cast<double>(l.contended());
    uint64_t holds = 0;
    for (uint64_t count : l.hold_buckets()) holds += count;
    std::printf(
        "%-15s %-9s %12llu %10llu %6.2f %10s %10s %10s %10s\n",
        l.lock().c_str(), l.mode().c_str(),
        static_cast<unsigned long long>(l.acquisitions()),
        static_cast<unsigned long long>(l.contended()),
        acquired == 0 ? 0.0 : 100.0 * contended / acquired,
        contended == 0 ? "-"
                       : DurationText(static_cast<double>(l.wait_ns_total()) /
                                      contended / 1e9)
                             .c_str(),
        QuantileBound(l.wait_buckets(), *s, 0.99).c_str(),
        holds == 0 ? "-"
                   : DurationText(static_cast<double>(l.hold_ns_total()) /
                                  static_cast<double>(holds) / 1e9)
                         .c_str(),
        QuantileBound(l.hold_buckets(), *s, 0.99).c_str());
  }
  return Ok();
}

Outcome CmdPing(Context& c) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::string> echoed = c.client.Ping("mmctl");
  if (!echoed.ok()) return Failed(echoed.status());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (c.json) {
    std::printf("{\"ok\": true, \"seconds\": %.6f}\n", seconds);
  } else {
    std::printf("pong in %s\n", DurationText(seconds).c_str());
  }
  return Ok();
}

struct Verb {
  const char* name;
  const char* usage;
  std::vector<std::string> options;  // besides the global ones
  Outcome (*run)(Context&);
};

const std::vector<Verb>& Verbs() {
  static const auto* const kVerbs = new std::vector<Verb>{
      {"create",
       "create [--exe NAME] [--code SIZE] [--data SIZE] [--bss SIZE] "
       "[--heap SIZE] [--stack SIZE] | create --from-maps FILE; both take "
       "[--max-map-count N] [--mmap-base ADDR] [--mmap-min-addr ADDR]",
       {"from-maps", "exe", "code", "data", "bss", "heap", "stack",
        "max-map-count", "mmap-base", "mmap-min-addr"},
       CmdCreate},
      {"rm", "rm PID", {}, CmdRm},
      {"ps", "ps", {}, CmdPs},
      {"prlimit",
       "prlimit PID as|data|stack|memlock CUR [MAX]   (sizes or unlimited; MAX "
       "defaults to CUR)",
       {},
       CmdPrlimit},
      {"file",
       "file create NAME --size SIZE [--mode 0644] | file ls",
       {"size", "mode"},
       CmdFile},
      {"mmap",
       "mmap PID --len SIZE [--prot rw-] [--flags private,anonymous] "
       "[--addr ADDR] [--file NAME [--offset N] [--mode r|w|rw]]",
       {"len", "prot", "flags", "addr", "file", "offset", "mode"},
       CmdMmap},
      {"munmap", "munmap PID ADDR LEN", {}, CmdMunmap},
      {"mprotect", "mprotect PID ADDR LEN --prot r--", {"prot"}, CmdMprotect},
      {"mremap",
       "mremap PID OLD_ADDR OLD_LEN NEW_LEN [--flags maymove,fixed,dontunmap]"
       " [--new-addr ADDR]",
       {"flags", "new-addr"},
       CmdMremap},
      {"brk", "brk PID [NEW_BRK]   (no NEW_BRK: print the break)", {}, CmdBrk},
      {"mlock", "mlock PID ADDR LEN [--onfault]", {"onfault"}, CmdMlock},
      {"munlock", "munlock PID ADDR LEN", {}, CmdMunlock},
      {"mlockall",
       "mlockall PID [--flags current,future,onfault]",
       {"flags"},
       CmdMlockall},
      {"munlockall", "munlockall PID", {}, CmdMunlockall},
      {"madvise",
       "madvise PID ADDR LEN ADVICE   (dontneed, willneed, ...)",
       {},
       CmdMadvise},
      {"find-vma",
       "find-vma PID ADDR [--mode find|prev|lookup|intersection] "
       "[--end ADDR]",
       {"mode", "end"},
       CmdFindVma},
      {"unmapped-area",
       "unmapped-area PID --len SIZE [--addr ADDR] [--flags F] [--file NAME]"
       " [--pgoff N]",
       {"len", "addr", "flags", "file", "pgoff"},
       CmdUnmappedArea},
      {"maps", "maps PID   (/proc/PID/maps text)", {}, CmdMaps},
      {"vmas", "vmas PID   (every VMA with its flags)", {}, CmdVmas},
      {"mm", "mm PID     (the mm_struct fields, rss and faults)", {}, CmdMm},
      {"clone",
       "clone PID [--flags vm,thread]   (prints the child's pid)",
       {"flags"},
       CmdClone},
      {"fork", "fork PID   (prints the child's pid)", {}, CmdFork},
      {"exec",
       "exec PID [--exe NAME] [--code SIZE] [--data SIZE] [--bss SIZE] "
       "[--heap SIZE] [--stack SIZE]",
       ExecOptions(), CmdExec},
      {"exit", "exit PID", {}, CmdExit},
      {"kthread",
       "kthread NAME   (a kernel thread; prints its pid)",
       {},
       CmdKthread},
      {"schedule",
       "schedule CPU PID   (PID 0: the CPU's idle task)",
       {},
       CmdSchedule},
      {"touch",
       "touch PID ADDR [--access read|write|exec] [--kernel]",
       {"access", "kernel"},
       CmdTouch},
      {"mincore",
       "mincore PID ADDR LEN   (1 per resident page)",
       {},
       CmdMincore},
      {"vmalloc", "vmalloc PAGES   (prints the address)", {}, CmdVmalloc},
      {"vfree", "vfree ADDR", {}, CmdVfree},
      {"reclaim",
       "reclaim PAGES   (swap_out; prints the pages freed)",
       {},
       CmdReclaim},
      {"smaps", "smaps PID   (/proc/PID/smaps text)", {}, CmdSmaps},
      {"status", "status PID   (/proc/PID/status text)", {}, CmdStatus},
      {"tasks", "tasks   (the task table)", {}, CmdTasks},
      {"mmlist",
       "mmlist   (every memory descriptor, init_mm first)",
       {},
       CmdMmlist},
      {"cpus", "cpus   (what each CPU runs, its active_mm)", {}, CmdCpus},
      {"stats",
       "stats   (system counters, memory, swap, OOM kills)",
       {},
       CmdStats},
      {"ping", "ping   (round trip of an empty call)", {}, CmdPing},
      {"locks",
       "locks   (lock statistics: acquisitions, contention, wait/hold times)",
       {},
       CmdLocks},
  };
  return *kVerbs;
}

void PrintHelp(FILE* out) {
  std::fprintf(
      out,
      "mmctl: command-line client of mmsimd (simulated Linux memory "
      "descriptors).\n\n"
      "usage: mmctl [--server ADDR] [--json] [--deadline D] [--tls ...] "
      "[--token T] VERB ARGS...\n"
      "  --server ADDR        mmsimd gRPC address (default 127.0.0.1:50051)\n"
      "  --json               print the response as JSON (proto field "
      "names)\n"
      "  --deadline D         deadline of each call: 2s, 500ms, 1m or "
      "milliseconds\n"
      "                       (default 30s; --timeout S is the same in "
      "seconds)\n"
      "  --tls                use TLS (server checked against the system "
      "roots)\n"
      "  --tls_ca PEM         ... or against this CA file\n"
      "  --tls_cert PEM, --tls_key PEM   client certificate (mutual TLS)\n"
      "  --tls_server_name N  name the server certificate must carry\n"
      "  --token T            send \"authorization: Bearer T\" (visible in "
      "ps)\n"
      "  --token_file F       ... with the token read from F\n\n"
      "verbs:\n");
  for (const Verb& v : Verbs()) std::fprintf(out, "  %s\n", v.usage);
  std::fprintf(
      out,
      "\nSIZE/ADDR: 4096, 0x1000, 8K, 2M, 1G. prot: rw-, r-x, ---, none,\n"
      "read,write or a number. flags: private, shared, anonymous, fixed,\n"
      "fixed_noreplace, populate, locked, growsdown, ... or a number.\n"
      "On failure mmctl prints the errno (\"mmctl: munmap: EINVAL (22): "
      "...\")\nand exits 1; usage errors exit 2.\n");
}

void PrintError(const std::string& verb, const absl::Status& status) {
  std::string message(status.message());
  if (std::optional<int> err = LinuxErrno(status); err.has_value()) {
    const char* name = ErrnoName(*err);
    absl::string_view m = message;
    absl::ConsumePrefix(&m, absl::StrCat(name, ": "));
    std::fprintf(stderr, "mmctl: %s: %s (%d): %s\n", verb.c_str(), name, *err,
                 std::string(m).c_str());
  } else {
    std::fprintf(stderr, "mmctl: %s: %s: %s\n", verb.c_str(),
                 absl::StatusCodeToString(status.code()).c_str(),
                 message.c_str());
  }
}

// Parses "2s", "500ms", "1m" or a number of milliseconds.
absl::StatusOr<std::chrono::milliseconds> ParseDuration(absl::string_view s) {
  int64_t n = 0;
  int64_t scale = 1;
  if (absl::ConsumeSuffix(&s, "ms")) {
  } else if (absl::ConsumeSuffix(&s, "s")) {
    scale = 1000;
  } else if (absl::ConsumeSuffix(&s, "m")) {
    scale = 60 * 1000;
  }
  if (!absl::SimpleAtoi(s, &n) || n <= 0 || n > (int64_t{1} << 40) / scale) {
    return absl::InvalidArgumentError(
        "--deadline is a positive duration: 2s, 500ms, 1m or milliseconds");
  }
  return std::chrono::milliseconds(n * scale);
}

// The connection the global options describe.
absl::StatusOr<ClientOptions> ClientOptionsFromArgs(const Args& args) {
  ClientOptions options;
  options.target = args.Get("server", "127.0.0.1:50051");
  if (args.Has("deadline")) {
    absl::StatusOr<std::chrono::milliseconds> d =
        ParseDuration(args.Get("deadline"));
    if (!d.ok()) return d.status();
    options.deadline = *d;
  } else if (args.Has("timeout")) {  // the older spelling, in seconds
    int timeout_s = 0;
    if (!absl::SimpleAtoi(args.Get("timeout"), &timeout_s) || timeout_s <= 0) {
      return absl::InvalidArgumentError("--timeout is a number of seconds");
    }
    options.deadline = std::chrono::seconds(timeout_s);
  }
  options.tls = args.Has("tls") && args.Get("tls") != "false";
  options.tls_ca_file = args.Get("tls-ca");
  options.tls_cert_file = args.Get("tls-cert");
  options.tls_key_file = args.Get("tls-key");
  options.tls_server_name = args.Get("tls-server-name");
  if (!options.tls &&
      (!options.tls_ca_file.empty() || !options.tls_cert_file.empty() ||
       !options.tls_key_file.empty() || !options.tls_server_name.empty())) {
    return absl::InvalidArgumentError("--tls_* options need --tls");
  }
  if (args.Has("token") && args.Has("token-file")) {
    return absl::InvalidArgumentError(
        "--token and --token_file exclude each "
        "other");
  }
  options.token = args.Get("token");
  if (args.Has("token-file")) {
    absl::StatusOr<std::string> token = ReadTokenFile(args.Get("token-file"));
    if (!token.ok())
      return absl::InvalidArgumentError(token.status().message());
    options.token = *std::move(token);
  }
  return options;
}

int Main(int argc, char** argv) {
  absl::StatusOr<Args> args = ParseArgs(argc, argv);
  if (!args.ok()) {
    std::fprintf(stderr, "mmctl: %s (see mmctl --help)\n",
                 std::string(args.status().message()).c_str());
    return kExitUsage;
  }
  if (args->positional.empty() || args->positional[0] == "help") {
    PrintHelp(args->positional.empty() && !args->Has("help") ? stderr : stdout);
    return args->positional.empty() && !args->Has("help") ? kExitUsage
                                                          : kExitOk;
  }
  const std::string verb_name = args->positional[0];
  const Verb* verb = nullptr;
  for (const Verb& v : Verbs()) {
    if (verb_name == v.name) verb = &v;
  }
  if (verb == nullptr) {
    std::fprintf(stderr, "mmctl: unknown verb \"%s\" (see mmctl --help)\n",
                 verb_name.c_str());
    return kExitUsage;
  }
  if (args->Has("help")) {
    std::printf("usage: mmctl %s\n", verb->usage);
    return kExitOk;
  }
  for (const auto& [name, value] : args->options) {
    if (!GlobalOptions().contains(name) &&
        std::find(verb->options.begin(), verb->options.end(), name) ==
            verb->options.end()) {
      std::fprintf(stderr, "mmctl: %s: unknown option --%s\nusage: mmctl %s\n",
                   verb_name.c_str(), name.c_str(), verb->usage);
      return kExitUsage;
    }
  }
  absl::StatusOr<ClientOptions> options = ClientOptionsFromArgs(*args);
  if (!options.ok()) {
    std::fprintf(stderr, "mmctl: %s\n",
                 std::string(options.status().message()).c_str());
    return kExitUsage;
  }
  absl::StatusOr<MmClient> client = MmClient::Connect(*options);
  if (!client.ok()) {
    std::fprintf(stderr, "mmctl: %s\n",
                 std::string(client.status().message()).c_str());
    return kExitUsage;
  }
  Context context{*args, *client, args->Has("json"), verb_name};
  Outcome outcome = verb->run(context);
  if (outcome.exit_code == kExitUsage) {
    std::fprintf(stderr, "mmctl: %s: %s\nusage: mmctl %s\n", verb_name.c_str(),
                 std::string(outcome.status.message()).c_str(), verb->usage);
  } else if (outcome.exit_code != kExitOk) {
    PrintError(verb_name, outcome.status);
  }
  return outcome.exit_code;
}

}  // namespace
}  // namespace mmsim::client

int main(int argc, char** argv) { return mmsim::client::Main(argc, argv); }
