// End to end: the real mmsimd binary on 127.0.0.1 (ports 0, read back from
// --port_file), driven by the real mmctl binary and by MmClient, its
// /metrics endpoint fetched with curl, then stopped with SIGTERM/SIGINT,
// which must end it with exit status 0. Every child is waited for; every
// wait is bounded.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/mm_client.h"
#include "core/limits.h"
#include "core/linux_error.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"

#ifndef MMSIMD_PATH
#error "MMSIMD_PATH must name the mmsimd binary"
#endif
#ifndef MMCTL_PATH
#error "MMCTL_PATH must name the mmctl binary"
#endif
#ifndef MMLOAD_PATH
#error "MMLOAD_PATH must name the mmload binary"
#endif

namespace mmsim {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr auto kStartTimeout = std::chrono::seconds(60);  // ASan is slow
constexpr auto kStopTimeout = std::chrono::seconds(60);
constexpr auto kCommandTimeout = std::chrono::seconds(60);
// Long, so that a stop which waits for it is told from one that does not.
constexpr auto kShutdownGrace = std::chrono::seconds(40);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Waits for `pid` for at most `timeout`; returns its wait status, or nullopt
// if it is still running.
std::optional<int> WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -1;  // not our child: no status
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Forks and execs `argv`, stdout and stderr to the given files. Only
// async-signal-safe calls happen between fork and exec.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& out,
            const std::string& err) {
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null_fd = open("/dev/null", O_RDONLY);
    if (out_fd < 0 || err_fd < 0 || null_fd < 0) _exit(127);
    dup2(null_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

struct CommandResult {
  int exit_code = -1;  // -1: killed or timed out
  std::string out;
  std::string err;
};

class E2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/mmsim_e2e.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }

  void TearDown() override {
    if (server_pid_ > 0) {  // a failed test: make sure nothing is left
      kill(server_pid_, SIGKILL);
      WaitFor(server_pid_, kStopTimeout);
    }
    for (const char* f : {"port", "server.out", "server.err", "cmd.out",
                          "cmd.err", "port.tmp"}) {
      unlink(absl::StrCat(dir_, "/", f).c_str());
    }
    rmdir(dir_.c_str());
  }

  // Starts mmsimd and waits for its port file.
  void StartServer(const std::vector<std::string>& extra_flags = {}) {
    const std::string port_file = dir_ + "/port";
    std::vector<std::string> argv = {
        MMSIMD_PATH, "--grpc_address=127.0.0.1:0",
        "--metrics_address=127.0.0.1:0", "--port_file=" + port_file,
        absl::StrCat("--shutdown_grace_seconds=", kShutdownGrace.count())};
    argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
    server_pid_ = Spawn(argv, dir_ + "/server.out", dir_ + "/server.err");
    ASSERT_GT(server_pid_, 0);
    const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    while (grpc_port_ == 0 || metrics_port_ == 0) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "mmsimd did not write " << port_file << "\n"
          << ReadFile(dir_ + "/server.err");
      int status = 0;
      ASSERT_EQ(waitpid(server_pid_, &status, WNOHANG), 0)
          << "mmsimd exited early:\n"
          << ReadFile(dir_ + "/server.err");
      for (absl::string_view line :
           absl::StrSplit(ReadFile(port_file), '\n', absl::SkipEmpty())) {
        std::pair<absl::string_view, absl::string_view> kv =
            absl::StrSplit(line, absl::MaxSplits('=', 1));
        int port = 0;
        if (!absl::SimpleAtoi(kv.second, &port)) continue;
        if (kv.first == "grpc_port") grpc_port_ = port;
        if (kv.first == "metrics_port") metrics_port_ = port;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // Sends `sig` and returns the server's wait status.
  int StopServer(int sig) {
    kill(server_pid_, sig);
    std::optional<int> status = WaitFor(server_pid_, kStopTimeout);
    if (!status.has_value()) {
      kill(server_pid_, SIGKILL);
      WaitFor(server_pid_, kStopTimeout);
      server_pid_ = 0;
      ADD_FAILURE() << "mmsimd ignored signal " << sig;
      return -1;
    }
    server_pid_ = 0;
    return *status;
  }

  CommandResult Run(std::vector<std::string> argv) {
    const std::string out = dir_ + "/cmd.out";
    const std::string err = dir_ + "/cmd.err";
    pid_t pid = Spawn(argv, out, err);
    CommandResult result;
    std::optional<int> status = WaitFor(pid, kCommandTimeout);
    if (!status.has_value()) {
      kill(pid, SIGKILL);
      WaitFor(pid, kStopTimeout);
      ADD_FAILURE() << argv[0] << " timed out";
    } else if (WIFEXITED(*status)) {
      result.exit_code = WEXITSTATUS(*status);
    }
    result.out = ReadFile(out);
    result.err = ReadFile(err);
    return result;
  }

  // Runs mmctl against the server.
  CommandResult Mmctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {
        MMCTL_PATH, absl::StrCat("--server=127.0.0.1:", grpc_port_),
        "--timeout=20"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Run(argv);
  }

  std::string dir_;
  pid_t server_pid_ = 0;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
};

int ParsePidJson(const std::string& json) {
  // {"pid":100}
  absl::string_view s = json;
  int pid = 0;
  if (absl::ConsumePrefix(&s, "{\"pid\":")) {
    s = absl::StripTrailingAsciiWhitespace(s);
    absl::ConsumeSuffix(&s, "}");
    if (!absl::SimpleAtoi(s, &pid)) pid = 0;
  }
  return pid;
}

TEST_F(E2eTest, MmctlDrivesTheServerAndMetricsAreScraped) {
  StartServer();
  CommandResult create = Mmctl({"create", "--json"});
  ASSERT_EQ(create.exit_code, 0) << create.err;
  const int pid = ParsePidJson(create.out);
  ASSERT_GT(pid, 0) << create.out;
  const std::string p = absl::StrCat(pid);

  CommandResult mmap = Mmctl({"mmap", p, "--len", "8K", "--prot", "rw-",
                              "--flags", "private,anonymous"});
  ASSERT_EQ(mmap.exit_code, 0) << mmap.err;
  ASSERT_THAT(mmap.out, StartsWith("0x"));
  const std::string addr(absl::StripAsciiWhitespace(mmap.out));

  CommandResult maps = Mmctl({"maps", p});
  ASSERT_EQ(maps.exit_code, 0) << maps.err;
  EXPECT_THAT(maps.out, HasSubstr(addr.substr(2) + "-"));
  EXPECT_THAT(maps.out, HasSubstr("[stack]"));

  CommandResult mprotect = Mmctl({"mprotect", p, addr, "4K", "--prot", "r--"});
  EXPECT_EQ(mprotect.exit_code, 0) << mprotect.err;
  CommandResult vmas = Mmctl({"vmas", p, "--json"});
  EXPECT_EQ(vmas.exit_code, 0) << vmas.err;
  EXPECT_THAT(vmas.out, HasSubstr("\"perms\":\"r--p\""));
  CommandResult mm = Mmctl({"mm", p});
  EXPECT_EQ(mm.exit_code, 0) << mm.err;
  EXPECT_THAT(mm.out, HasSubstr("map_count"));

  // Failures: exit 1 and the errno, by name and number.
  CommandResult bad = Mmctl({"munmap", p, "0x1001", "4K"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, StartsWith("mmctl: munmap: EINVAL (22): "));
  CommandResult gone = Mmctl({"rm", "99999"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_THAT(gone.err, StartsWith("mmctl: rm: ESRCH (3): "));

  if (access("/usr/bin/curl", X_OK) == 0) {
    CommandResult scrape =
        Run({"/usr/bin/curl", "-sf", "--max-time", "20",
             absl::StrCat("http://127.0.0.1:", metrics_port_, "/metrics")});
    ASSERT_EQ(scrape.exit_code, 0) << scrape.err;
    EXPECT_THAT(scrape.out, HasSubstr("mmsim_tasks{kind=\"process\"} 1"));
    EXPECT_THAT(scrape.out, HasSubstr(absl::StrCat("mmsim_process_vmas{pid=\"",
                                                   pid, "\"}")));
    EXPECT_THAT(scrape.out,
                HasSubstr("mmsim_rpcs_total{code=\"INVALID_ARGUMENT\","
                          "method=\"Munmap\"} 1"));
  } else {
    ADD_FAILURE() << "curl not installed (make deps installs it)";
  }

  const int status = StopServer(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << ReadFile(dir_ + "/server.err");
  EXPECT_THAT(ReadFile(dir_ + "/server.out"), HasSubstr("mmsimd: stopped"));
}

TEST_F(E2eTest, MmctlForkTouchAndSystemViews) {
  StartServer();
  CommandResult create = Mmctl({"create"});
  ASSERT_EQ(create.exit_code, 0) << create.err;
  const std::string p(absl::StripAsciiWhitespace(create.out));
  CommandResult mmap = Mmctl({"mmap", p, "--len", "8K"});
  ASSERT_EQ(mmap.exit_code, 0) << mmap.err;
  const std::string addr(absl::StripAsciiWhitespace(mmap.out));

  CommandResult write = Mmctl({"touch", p, addr, "--access", "write"});
  ASSERT_EQ(write.exit_code, 0) << write.err;
  EXPECT_EQ(write.out, "minor anon_page\n");
  CommandResult fork = Mmctl({"fork", p});
  ASSERT_EQ(fork.exit_code, 0) << fork.err;
  const std::string child(absl::StripAsciiWhitespace(fork.out));
  ASSERT_NE(child, p);
  CommandResult cow = Mmctl({"touch", child, addr, "--access=write"});
  ASSERT_EQ(cow.exit_code, 0) << cow.err;
  EXPECT_EQ(cow.out, "minor copy_on_write\n");
  CommandResult segv = Mmctl({"touch", child, "0x10000"});
  EXPECT_EQ(segv.out, "sigsegv none si_code=1\n");
  CommandResult mm = Mmctl({"mm", child});
  EXPECT_THAT(mm.out, HasSubstr("rss_anon       1 pages (4 KiB)"));
  EXPECT_THAT(mm.out, HasSubstr("cow 1"));

  CommandResult smaps = Mmctl({"smaps", child});
  ASSERT_EQ(smaps.exit_code, 0) << smaps.err;
  EXPECT_THAT(smaps.out, HasSubstr(addr.substr(2) + "-"));
  EXPECT_THAT(smaps.out, HasSubstr("Private_Dirty:         4 kB"));
  CommandResult status = Mmctl({"status", child});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("VmRSS:"));
  EXPECT_THAT(status.out, HasSubstr(absl::StrCat("Pid:\t", child)));

  CommandResult mmlist = Mmctl({"mmlist"});
  ASSERT_EQ(mmlist.exit_code, 0) << mmlist.err;
  EXPECT_THAT(mmlist.out, StartsWith("MM_ID USERS COUNT ON_MMLIST PIDS"));
  EXPECT_THAT(mmlist.out, HasSubstr("init_mm"));
  EXPECT_THAT(mmlist.out, HasSubstr(absl::StrCat(" yes ", child, " ")));
  CommandResult tasks = Mmctl({"tasks"});
  ASSERT_EQ(tasks.exit_code, 0) << tasks.err;
  EXPECT_THAT(tasks.out, HasSubstr("KIND"));
  EXPECT_THAT(tasks.out, HasSubstr("process"));
  CommandResult kthread = Mmctl({"kthread", "kswapd0"});
  ASSERT_EQ(kthread.exit_code, 0) << kthread.err;
  const std::string k(absl::StripAsciiWhitespace(kthread.out));
  EXPECT_EQ(Mmctl({"schedule", "0", p}).exit_code, 0);
  EXPECT_EQ(Mmctl({"schedule", "0", k}).exit_code, 0);
  CommandResult cpus = Mmctl({"cpus", "--json"});
  EXPECT_THAT(cpus.out, HasSubstr(absl::StrCat("\"curr_pid\":", k)));
  CommandResult busy = Mmctl({"schedule", "1", k});
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_THAT(busy.err, StartsWith("mmctl: schedule: EBUSY (16): "));
  CommandResult stats = Mmctl({"stats"});
  EXPECT_THAT(stats.out, HasSubstr("forks            1"));
  CommandResult gone = Mmctl({"fork", "99999"});
  EXPECT_THAT(gone.err, StartsWith("mmctl: fork: ESRCH (3): "));
  EXPECT_EQ(WEXITSTATUS(StopServer(SIGTERM)), 0);
}

TEST_F(E2eTest, ServerRejectsNonsenseSystemFlags) {
  for (const char* flag : {"--frames=0", "--cpus=0", "--cpus=65",
                           "--max_tasks=0", "--swap_pages=99999999999"}) {
    CommandResult r = Run({MMSIMD_PATH, flag, "--grpc_address=127.0.0.1:0",
                           "--metrics_address="});
    EXPECT_EQ(r.exit_code, 2) << flag;
    EXPECT_THAT(r.err, StartsWith("mmsimd: --")) << flag;
  }
}

TEST_F(E2eTest, MmClientAndHealthAgainstTheRealServer) {
  StartServer();
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port_),
                                     grpc::InsecureChannelCredentials());
  {
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(20));
    grpc::health::v1::HealthCheckResponse resp;
    ASSERT_TRUE(
        health->Check(&ctx, grpc::health::v1::HealthCheckRequest(), &resp)
            .ok());
    EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  }
  client::MmClient client(channel, std::chrono::seconds(20));
  absl::StatusOr<int> pid = client.CreateProcess();
  ASSERT_TRUE(pid.ok()) << pid.status();
  absl::StatusOr<uint64_t> addr = client.MmapAnon(
      *pid, 0, 4 * kPageSize, kProtRead | kProtWrite, kMapPrivate);
  ASSERT_TRUE(addr.ok()) << addr.status();
  absl::Status hole = client.Mprotect(*pid, 0x10000000, kPageSize, kProtRead);
  EXPECT_EQ(hole.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(LinuxErrno(hole), ENOMEM);

  // The channel is still open: an idle client must not hold the shutdown
  // for the whole grace period.
  const auto start = std::chrono::steady_clock::now();
  const int status = StopServer(SIGINT);
  EXPECT_LT(std::chrono::steady_clock::now() - start, kShutdownGrace / 2);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << ReadFile(dir_ + "/server.err");
}

TEST_F(E2eTest, ReflectionListsTheServices) {
  StartServer();
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port_),
                          grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto stream = stub->ServerReflectionInfo(&ctx);
  grpc::reflection::v1alpha::ServerReflectionRequest req;
  req.set_list_services("");
  ASSERT_TRUE(stream->Write(req));
  stream->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  std::vector<std::string> names;
  for (const auto& service : resp.list_services_response().service()) {
    names.push_back(service.name());
  }
  while (stream->Read(&resp)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_THAT(names, ::testing::Contains("mmsim.v1.MemoryManager"));
  EXPECT_THAT(names, ::testing::Contains("grpc.health.v1.Health"));
  EXPECT_EQ(WEXITSTATUS(StopServer(SIGTERM)), 0);
}

TEST_F(E2eTest, MmctlImportsARealProcess) {
  StartServer();
  // /proc/self/maps read by mmctl is mmctl's own address space.
  CommandResult create =
      Mmctl({"create", "--from-maps", "/proc/self/maps", "--json"});
  ASSERT_EQ(create.exit_code, 0) << create.err;
  const int pid = ParsePidJson(create.out);
  ASSERT_GT(pid, 0) << create.out;
  CommandResult maps = Mmctl({"maps", absl::StrCat(pid)});
  ASSERT_EQ(maps.exit_code, 0) << maps.err;
  EXPECT_THAT(maps.out, HasSubstr("[stack]"));
  EXPECT_THAT(maps.out, HasSubstr("mmctl"));
  CommandResult files = Mmctl({"file", "ls"});
  EXPECT_EQ(files.exit_code, 0) << files.err;
  EXPECT_THAT(files.out, HasSubstr("mmctl"));
  EXPECT_EQ(WEXITSTATUS(StopServer(SIGTERM)), 0);
}

TEST_F(E2eTest, MmctlHelpAndUsageErrors) {
  CommandResult help = Run({MMCTL_PATH, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* verb : {"create",        "rm",         "ps",      "prlimit",
                           "file",          "mmap",       "munmap",  "mprotect",
                           "mremap",        "brk",        "mlock",   "munlock",
                           "mlockall",      "munlockall", "madvise", "find-vma",
                           "unmapped-area", "maps",       "vmas",    "mm",
                           "clone",         "fork",       "exec",    "exit",
                           "kthread",       "schedule",   "touch",   "mincore",
                           "vmalloc",       "vfree",      "reclaim", "smaps",
                           "status",        "tasks",      "mmlist",  "cpus",
                           "stats"}) {
    EXPECT_THAT(help.out, HasSubstr(absl::StrCat("  ", verb))) << verb;
  }
  EXPECT_EQ(Run({MMCTL_PATH, "frobnicate"}).exit_code, 2);
  EXPECT_EQ(Run({MMCTL_PATH, "mmap", "1", "--bogus", "x"}).exit_code, 2);
  EXPECT_EQ(Run({MMCTL_PATH, "mmap", "1", "--len", "12Q"}).exit_code, 2);
}

TEST_F(E2eTest, ServerRefusesABusyPort) {
  StartServer();
  // A second server on the first one's gRPC port fails and says why.
  CommandResult second =
      Run({MMSIMD_PATH, absl::StrCat("--grpc_address=127.0.0.1:", grpc_port_),
           "--metrics_address=127.0.0.1:0"});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_THAT(second.err, HasSubstr("cannot listen"));
  EXPECT_EQ(WEXITSTATUS(StopServer(SIGTERM)), 0);
}

// mmload runs every scenario against the real server: the JSON report
// counts exactly --total calls, none failed, and the server's lock
// statistics for the run are there.
TEST_F(E2eTest, MmloadRunsEveryScenario) {
  StartServer();
  for (const char* scenario :
       {"ping", "fault-storm", "find-vma", "map-churn", "mixed-shared",
        "private", "fork-exit", "pressure"}) {
    CommandResult r =
        Run({MMLOAD_PATH, absl::StrCat("--server=127.0.0.1:", grpc_port_),
             absl::StrCat("--scenario=", scenario), "--total=120",
             "--warmup=0s", "--concurrency=3", "--pages=64", "--output=json"});
    EXPECT_EQ(r.exit_code, 0) << scenario << ": " << r.err;
    EXPECT_THAT(r.out, HasSubstr(absl::StrCat("\"scenario\": \"", scenario)));
    EXPECT_THAT(r.out, HasSubstr("\"calls\": 120,")) << scenario;
    EXPECT_THAT(r.out, HasSubstr("\"errors\": 0,")) << scenario;
    if (std::string(scenario) != "ping") {
      EXPECT_THAT(r.out, HasSubstr("\"lock\": \"mmap_sem\"")) << scenario;
    }
  }
  // Every scenario removed the processes it created.
  CommandResult ps = Mmctl({"--json", "ps"});
  EXPECT_EQ(ps.exit_code, 0);
  EXPECT_THAT(ps.out, ::testing::Not(HasSubstr("\"pid\"")));
  EXPECT_EQ(WEXITSTATUS(StopServer(SIGTERM)), 0);
}

// --stream sends each scenario's operations over the Batch RPC: --total
// counts operations, every message carries --batch of them and every one
// succeeds; a batch over the server's --max_batch_ops fails as a whole with
// the server's error, and scenarios that cannot be batched are refused.
TEST_F(E2eTest, MmloadStreamsBatches) {
  StartServer({"--max_batch_ops=32"});
  const std::string server = absl::StrCat("--server=127.0.0.1:", grpc_port_);
  for (const char* scenario : {"fault-storm", "find-vma", "map-churn",
                               "mixed-shared", "private", "pressure"}) {
    CommandResult r =
        Run({MMLOAD_PATH, server, absl::StrCat("--scenario=", scenario),
             "--stream", "--batch=16", "--total=128", "--warmup=0s",
             "--concurrency=3", "--pages=64", "--output=json"});
    EXPECT_EQ(r.exit_code, 0) << scenario << ": " << r.err;
    EXPECT_THAT(r.out, HasSubstr("\"batch\": 16, \"messages\": 8,"))
        << scenario << ": " << r.out;
    EXPECT_THAT(r.out, HasSubstr("\"calls\": 128,")) << scenario;
    EXPECT_THAT(r.out, HasSubstr("\"errors\": 0,")) << scenario;
  }
  CommandResult big =
      Run({MMLOAD_PATH, server, "--scenario=fault-storm", "--stream",
           "--batch=33", "--total=66", "--warmup=0s", "--output=json"});
  EXPECT_EQ(big.exit_code, 1);
  EXPECT_THAT(big.out, HasSubstr("\"code\": \"INVALID_ARGUMENT\", "
                                 "\"errno\": \"EINVAL\", \"count\": 66}"))
      << big.out;
  for (const char* scenario : {"ping", "fork-exit"}) {
    CommandResult refused = Run({MMLOAD_PATH, server, "--stream",
                                 absl::StrCat("--scenario=", scenario)});
    EXPECT_EQ(refused.exit_code, 2) << scenario;
    EXPECT_THAT(refused.err, HasSubstr("--stream")) << scenario;
  }
  CommandResult ps = Mmctl({"--json", "ps"});
  EXPECT_THAT(ps.out, ::testing::Not(HasSubstr("\"pid\"")));
  EXPECT_EQ(WEXITSTATUS(StopServer(SIGTERM)), 0);
}

// With --token on the server, mmload's calls carry the token: none fails;
// without it, every call would be UNAUTHENTICATED.
TEST_F(E2eTest, MmloadSendsTheBearerToken) {
  StartServer({"--token=s3cret"});
  const std::string server = absl::StrCat("--server=127.0.0.1:", grpc_port_);
  CommandResult with =
      Run({MMLOAD_PATH, server, "--token=s3cret", "--scenario=fault-storm",
           "--total=50", "--warmup=0s", "--output=json"});
  EXPECT_EQ(with.exit_code, 0) << with.err;
  EXPECT_THAT(with.out, HasSubstr("\"errors\": 0,"));
  CommandResult without =
      Run({MMLOAD_PATH, server, "--scenario=ping", "--total=5", "--warmup=0s"});
  EXPECT_EQ(without.exit_code, 1);
  EXPECT_THAT(without.err, HasSubstr("UNAUTHENTICATED"));
  EXPECT_EQ(WEXITSTATUS(StopServer(SIGTERM)), 0);
}

TEST_F(E2eTest, MmloadRejectsBadFlagsAndReportsAnUnreachableServer) {
  CommandResult bad = Run({MMLOAD_PATH, "--scenario=nope"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("fault-storm"));  // the scenario list
  CommandResult none =
      Run({MMLOAD_PATH, "--server=127.0.0.1:1", "--deadline=2s", "--total=1"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_THAT(none.err, HasSubstr("mmload: 127.0.0.1:1"));
}

}  // namespace
}  // namespace mmsim
