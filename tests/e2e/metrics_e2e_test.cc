// End to end for the metrics: the real mmsimd binary (ports 0, read back
// from --port_file) driven through MmClient, then
//  - a real scrape of /metrics checked by `promtool check metrics`, and
//  - Debian's real Prometheus scraping it every second (its own generated
//    config, a free loopback port), queried through /api/v1/query until
//    the values equal what GetMm / GetSystemStats report (bounded polls).
// Every child is stopped by pid, also when a test fails.
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "client/mm_client.h"
#include "core/limits.h"
#include "core/vma.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/e2e/child_process.h"

#ifndef MMSIMD_PATH
#error "MMSIMD_PATH must name the mmsimd binary"
#endif

namespace mmsim::e2e {
namespace {

constexpr char kCurl[] = "/usr/bin/curl";
constexpr char kPromtool[] = "/usr/bin/promtool";
constexpr char kPrometheus[] = "/usr/bin/prometheus";
constexpr auto kStartTimeout = std::chrono::seconds(60);  // ASan is slow
constexpr auto kStopTimeout = std::chrono::seconds(60);
constexpr auto kCommandTimeout = std::chrono::seconds(60);
// The first scrape comes seconds after Prometheus starts (target
// discovery is throttled); then one a second.
constexpr auto kQueryTimeout = std::chrono::seconds(90);

constexpr int kRw = kProtRead | kProtWrite;
constexpr int kAnon = kMapPrivate | kMapAnonymous;
// Core gives pids from 100 up: the first process the test creates.
constexpr int kNamedPid = 100;

struct CommandResult {
  int exit_code = -1;  // -1: killed or timed out
  std::string out;
  std::string err;
};

class MetricsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/mmsim_metrics_e2e.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }

  void TearDown() override {
    // A failed test may leave them running: stop them, Prometheus first.
    if (prometheus_pid_ > 0) Stop(prometheus_pid_, SIGTERM, kStopTimeout);
    if (server_pid_ > 0) Stop(server_pid_, SIGTERM, kStopTimeout);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Starts mmsimd, waits for its port file and connects a client.
  void StartServer(std::vector<std::string> flags) {
    const std::string port_file = dir_ + "/port";
    std::vector<std::string> argv = {MMSIMD_PATH, "--grpc_address=127.0.0.1:0",
                                     "--metrics_address=127.0.0.1:0",
                                     "--port_file=" + port_file};
    argv.insert(argv.end(), flags.begin(), flags.end());
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
    client_ = std::make_unique<client::MmClient>(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port_),
                            grpc::InsecureChannelCredentials()),
        std::chrono::seconds(20));
  }

  CommandResult Run(const std::vector<std::string>& argv,
                    const std::string& in = "/dev/null") {
    const std::string out = dir_ + "/cmd.out";
    const std::string err = dir_ + "/cmd.err";
    pid_t pid = Spawn(argv, out, err, in);
    CommandResult result;
    std::optional<int> status = WaitFor(pid, kCommandTimeout);
    if (!status.has_value()) {
      Stop(pid, SIGKILL, kStopTimeout);
      ADD_FAILURE() << argv[0] << " timed out";
    } else if (WIFEXITED(*status)) {
      result.exit_code = WEXITSTATUS(*status);
    }
    result.out = ReadFile(out);
    result.err = ReadFile(err);
    return result;
  }

  std::string Scrape() {
    CommandResult scrape =
        Run({kCurl, "-sf", "--max-time", "20",
             absl::StrCat("http://127.0.0.1:", metrics_port_, "/metrics")});
    EXPECT_EQ(scrape.exit_code, 0) << scrape.err;
    return scrape.out;
  }

  // A workload with a bit of everything: small process kNamedPid, a large
  // one (the top pid by rss), a fork with copy-on-write that exits, a
  // kernel thread, a split, a vmalloc sync and a failed munmap.
  void Drive() {
    absl::StatusOr<int> small = client_->CreateProcess();
    ASSERT_TRUE(small.ok()) << small.status();
    ASSERT_EQ(*small, kNamedPid) << "core no longer starts pids at 100";
    small_ = *small;
    absl::StatusOr<int> large = client_->CreateProcess();
    ASSERT_TRUE(large.ok());
    large_ = *large;
    TouchNew(small_, 8, 2);
    TouchNew(large_, 64, 32);
    absl::StatusOr<uint64_t> addr =
        client_->MmapAnon(large_, 0, 16 * kPageSize, kRw, kAnon);
    ASSERT_TRUE(addr.ok());
    ASSERT_TRUE(
        client_->Mprotect(large_, *addr + 4 * kPageSize, kPageSize, kProtRead)
            .ok());
    // A page the parent wrote: the child's write breaks copy-on-write.
    ASSERT_TRUE(client_->Touch(large_, *addr, v1::FAULT_ACCESS_WRITE).ok());
    absl::StatusOr<int> child = client_->Fork(large_);
    ASSERT_TRUE(child.ok());
    ASSERT_TRUE(client_->Touch(*child, *addr, v1::FAULT_ACCESS_WRITE).ok());
    ASSERT_TRUE(client_->Touch(*child, *addr, v1::FAULT_ACCESS_WRITE).ok());
    ASSERT_TRUE(client_->Exit(*child).ok());
    ASSERT_TRUE(client_->CreateKernelThread("kworker/0:1").ok());
    absl::StatusOr<uint64_t> area = client_->Vmalloc(2);
    ASSERT_TRUE(area.ok());
    ASSERT_TRUE(
        client_->Touch(small_, *area, v1::FAULT_ACCESS_READ, true).ok());
    ASSERT_FALSE(client_->Munmap(small_, 0x1001, kPageSize).ok());
  }

  // Maps `pages` anonymous pages in `pid` and writes the first `touched`.
  void TouchNew(int pid, int pages, int touched) {
    absl::StatusOr<uint64_t> addr =
        client_->MmapAnon(pid, 0, pages * kPageSize, kRw, kAnon);
    ASSERT_TRUE(addr.ok()) << addr.status();
    for (int i = 0; i < touched; ++i) {
      ASSERT_TRUE(
          client_->Touch(pid, *addr + i * kPageSize, v1::FAULT_ACCESS_WRITE)
              .ok());
    }
  }

  void StartPrometheus() {
    const int port = FreePort();
    ASSERT_GT(port, 0);
    prometheus_url_ = absl::StrCat("http://127.0.0.1:", port);
    const std::string config = dir_ + "/prometheus.yml";
    {
      std::ofstream out(config);
      out << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
          << "scrape_configs:\n"
          << "  - job_name: mmsim\n"
          << "    static_configs: [{targets: ['127.0.0.1:" << metrics_port_
          << "']}]\n";
    }
    prometheus_pid_ =
        Spawn({kPrometheus, "--config.file=" + config,
               "--storage.tsdb.path=" + dir_ + "/tsdb",
               absl::StrCat("--web.listen-address=127.0.0.1:", port)},
              dir_ + "/prometheus.out", dir_ + "/prometheus.err");
    ASSERT_GT(prometheus_pid_, 0);
    const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    while (Run({kCurl, "-sf", "--max-time", "5", prometheus_url_ + "/-/ready"})
               .exit_code != 0) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "prometheus not ready:\n"
          << ReadFile(dir_ + "/prometheus.err");
      int status = 0;
      ASSERT_EQ(waitpid(prometheus_pid_, &status, WNOHANG), 0)
          << "prometheus exited:\n"
          << ReadFile(dir_ + "/prometheus.err");
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  // The value of an instant query with one result; nullopt when it has
  // none (yet).
  std::optional<double> Query(const std::string& promql) {
    CommandResult r = Run({kCurl, "-sf", "--max-time", "10", "-G",
                           prometheus_url_ + "/api/v1/query",
                           "--data-urlencode", "query=" + promql});
    if (r.exit_code != 0) return std::nullopt;
    // {"status":"success","data":{"resultType":"vector","result":
    //   [{"metric":{...},"value":[1733130000.123,"42"]}]}}
    const size_t at = r.out.find("\"value\":[");
    if (at == std::string::npos) return std::nullopt;
    const size_t open = r.out.find(",\"", at);
    const size_t close = r.out.find('"', open + 2);
    if (open == std::string::npos || close == std::string::npos) {
      return std::nullopt;
    }
    double value = 0;
    if (!absl::SimpleAtod(r.out.substr(open + 2, close - open - 2), &value)) {
      return std::nullopt;
    }
    return value;
  }

  // Polls `promql` until it equals `want` (bounded by kQueryTimeout).
  void ExpectEventually(const std::string& promql, double want) {
    const auto deadline = std::chrono::steady_clock::now() + kQueryTimeout;
    std::optional<double> got;
    while (std::chrono::steady_clock::now() < deadline) {
      got = Query(promql);
      if (got == want) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    ADD_FAILURE() << promql << ": last value "
                  << (got ? absl::StrCat(*got) : "none") << ", want " << want
                  << "\n"
                  << ReadFile(dir_ + "/prometheus.err");
  }

  std::string dir_;
  pid_t server_pid_ = 0;
  pid_t prometheus_pid_ = 0;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  std::string prometheus_url_;
  std::unique_ptr<client::MmClient> client_;
  int small_ = 0;
  int large_ = 0;
};

TEST_F(MetricsE2eTest, PromtoolAcceptsARealScrape) {
  StartServer({});
  Drive();
  if (HasFailure()) return;
  const std::string text = Scrape();
  const std::string file = dir_ + "/scrape.txt";
  {
    std::ofstream out(file);
    out << text;
  }
  // The scrape has the catalog's families, with processes in them.
  for (const char* family :
       {"mmsim_process_vmas{", "mmsim_mm_vmas_bucket{", "mmsim_syscalls_total{",
        "mmsim_page_faults_total{", "mmsim_task_events_total{",
        "mmsim_rpc_duration_seconds_bucket{"}) {
    EXPECT_THAT(text, ::testing::HasSubstr(family));
  }
  CommandResult check = Run({kPromtool, "check", "metrics"}, file);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_EQ(check.out + check.err, "") << "promtool lint findings";
}

TEST_F(MetricsE2eTest, PrometheusScrapesWhatGetMmAndGetSystemStatsReport) {
  StartServer(
      {"--metrics_top_pids=1", absl::StrCat("--metrics_pids=", kNamedPid)});
  Drive();
  if (HasFailure()) return;
  StartPrometheus();
  if (HasFailure()) return;

  for (int pid : {small_, large_}) {
    absl::StatusOr<v1::GetMmResponse> mm = client_->GetMm(pid);
    ASSERT_TRUE(mm.ok()) << mm.status();
    const std::string sel = absl::StrCat("{pid=\"", pid, "\"");
    ExpectEventually("mmsim_process_vmas" + sel + "}", mm->map_count());
    ExpectEventually("mmsim_process_total_vm_bytes" + sel + "}",
                     mm->total_vm() * kPageSize);
    ExpectEventually("mmsim_process_rss_bytes" + sel + ",type=\"anon\"}",
                     mm->pages().rss_anon() * kPageSize);
    ExpectEventually("mmsim_process_rss_bytes" + sel + ",type=\"file\"}",
                     mm->pages().rss_file() * kPageSize);
  }
  // Only the named pid and the top one by rss have per-pid series.
  ExpectEventually("count(mmsim_process_vmas)", 2);

  absl::StatusOr<v1::GetSystemStatsResponse> stats = client_->GetSystemStats();
  ASSERT_TRUE(stats.ok());
  absl::StatusOr<std::vector<v1::ProcessSummary>> processes =
      client_->ListProcesses();
  ASSERT_TRUE(processes.ok());
  uint64_t vmas = 0, anon = 0;
  for (const v1::ProcessSummary& p : *processes) {
    vmas += p.map_count();
    absl::StatusOr<v1::GetMmResponse> mm = client_->GetMm(p.pid());
    ASSERT_TRUE(mm.ok());
    anon += mm->pages().rss_anon();
  }
  ExpectEventually("mmsim_mm_vmas_count", stats->mm_descriptors() - 1);
  ExpectEventually("mmsim_mm_vmas_sum", vmas);
  ExpectEventually("mmsim_mms", stats->mm_descriptors() - 1);
  ExpectEventually("mmsim_system_rss_bytes{type=\"anon\"}", anon * kPageSize);
  ExpectEventually("mmsim_tasks{kind=\"process\"}", stats->processes());
  ExpectEventually("mmsim_mmlist_nr", stats->mmlist_nr());
  ExpectEventually("mmsim_task_events_total{event=\"fork\"}", stats->forks());
  ExpectEventually("mmsim_task_events_total{event=\"exit\"}", stats->exits());
  ExpectEventually("mmsim_syscalls_total{syscall=\"munmap\",errno=\"EINVAL\"}",
                   1);
  ExpectEventually("mmsim_cow_faults_total", 1);
  ExpectEventually("mmsim_vmalloc_syncs_total", 1);
  ExpectEventually("mmsim_vma_splits_total > bool 0", 1);
  ExpectEventually("mmsim_rpc_duration_seconds_count{method=\"CreateProcess\"}",
                   2);

  // Stop both by pid: each ends on SIGTERM with status 0.
  std::optional<int> prom = Stop(prometheus_pid_, SIGTERM, kStopTimeout);
  prometheus_pid_ = 0;
  ASSERT_TRUE(prom.has_value()) << "prometheus ignored SIGTERM";
  EXPECT_TRUE(WIFEXITED(*prom) && WEXITSTATUS(*prom) == 0) << *prom;
  std::optional<int> server = Stop(server_pid_, SIGTERM, kStopTimeout);
  server_pid_ = 0;
  ASSERT_TRUE(server.has_value()) << "mmsimd ignored SIGTERM";
  EXPECT_TRUE(WIFEXITED(*server) && WEXITSTATUS(*server) == 0) << *server;
}

}  // namespace
}  // namespace mmsim::e2e
