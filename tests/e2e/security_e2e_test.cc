// End to end, security, limits and shutdown: the real mmsimd binary with TLS,
// mutual TLS and bearer tokens, driven by MmClient and by the real mmctl.
// Certificates (a CA, a server certificate for 127.0.0.1 / localhost, a
// client certificate) are made at test time with the openssl command.
// Also: the loopback-only default, the message size limit, client
// deadlines, and the drain on SIGTERM with calls in flight. Every child is
// waited for; every wait is bounded.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/mm_client.h"
#include "core/limits.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/impl/codegen/grpc_types.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "gtest/gtest.h"

#ifndef MMSIMD_PATH
#error "MMSIMD_PATH must name the mmsimd binary"
#endif
#ifndef MMCTL_PATH
#error "MMCTL_PATH must name the mmctl binary"
#endif

namespace mmsim {
namespace {

using ::grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr auto kStartTimeout = std::chrono::seconds(60);  // ASan is slow
constexpr auto kStopTimeout = std::chrono::seconds(120);
constexpr auto kCommandTimeout = std::chrono::seconds(60);
constexpr auto kCallDeadline = std::chrono::seconds(60);
constexpr char kToken[] = "s3cret-t0ken";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
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

// Runs `argv` to completion (bounded); output goes through files in `dir`.
CommandResult RunCommand(const std::string& dir,
                         const std::vector<std::string>& argv) {
  const std::string out = dir + "/cmd.out";
  const std::string err = dir + "/cmd.err";
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

// Health Check of the whole server over `channel`: the serving status, or
// the call's error code.
std::variant<HealthCheckResponse::ServingStatus, grpc::StatusCode> Health(
    std::shared_ptr<grpc::Channel> channel) {
  auto stub = grpc::health::v1::Health::NewStub(std::move(channel));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
  HealthCheckResponse resp;
  grpc::Status s =
      stub->Check(&ctx, grpc::health::v1::HealthCheckRequest(), &resp);
  if (!s.ok()) return s.error_code();
  return resp.status();
}

class SecurityE2eTest : public ::testing::Test {
 protected:
  // One CA and three certificates for every test (openssl takes a while).
  static void SetUpTestSuite() {
    char dir[] = "/tmp/mmsim_sec.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    certs_ = new std::string(dir);
    const std::string& d = *certs_;
    const std::string openssl = "/usr/bin/openssl";
    ASSERT_EQ(access(openssl.c_str(), X_OK), 0)
        << "openssl not installed (make deps installs it)";
    auto run = [&d](std::vector<std::string> argv) {
      CommandResult r = RunCommand(d, argv);
      ASSERT_EQ(r.exit_code, 0) << absl::StrJoin(argv, " ") << "\n" << r.err;
    };
    const std::vector<std::string> ec = {
        "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};
    auto req = [&](const std::string& name, const std::string& cn) {
      std::vector<std::string> argv = {openssl, "req"};
      argv.insert(argv.end(), ec.begin(), ec.end());
      argv.insert(argv.end(), {"-keyout", d + "/" + name + ".key", "-out",
                               d + "/" + name + ".csr", "-subj", "/CN=" + cn});
      run(argv);
    };
    auto sign = [&](const std::string& name, const std::string& ca,
                    const std::string& ext) {
      WriteFile(d + "/" + name + ".ext", ext);
      run({openssl, "x509", "-req", "-in", d + "/" + name + ".csr", "-CA",
           d + "/" + ca + ".crt", "-CAkey", d + "/" + ca + ".key",
           "-CAcreateserial", "-days", "2", "-out", d + "/" + name + ".crt",
           "-extfile", d + "/" + name + ".ext"});
    };
    for (const std::string ca : {"ca", "other_ca"}) {
      std::vector<std::string> argv = {openssl, "req", "-x509"};
      argv.insert(argv.end(), ec.begin(), ec.end());
      argv.insert(argv.end(), {"-keyout", d + "/" + ca + ".key", "-out",
                               d + "/" + ca + ".crt", "-days", "2", "-subj",
                               "/CN=mmsim test " + ca, "-addext",
                               "basicConstraints=critical,CA:TRUE", "-addext",
                               "keyUsage=critical,keyCertSign,cRLSign"});
      run(argv);
    }
    req("server", "localhost");
    sign("server", "ca",
         "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
         "extendedKeyUsage=serverAuth\n");
    req("client", "mmsim test client");
    sign("client", "ca", "extendedKeyUsage=clientAuth\n");
    // Signed by a CA the server does not trust.
    req("stranger", "mmsim test stranger");
    sign("stranger", "other_ca", "extendedKeyUsage=clientAuth\n");
  }

  static void TearDownTestSuite() {
    if (certs_ == nullptr) return;
    RunCommand("/tmp", {"/bin/rm", "-rf", *certs_});
    delete certs_;
    certs_ = nullptr;
  }

  static std::string Cert(const std::string& file) {
    return *certs_ + "/" + file;
  }

  void SetUp() override {
    char dir[] = "/tmp/mmsim_sec_run.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }

  void TearDown() override {
    if (server_pid_ > 0) {  // a failed test: make sure nothing is left
      kill(server_pid_, SIGKILL);
      WaitFor(server_pid_, kStopTimeout);
    }
    RunCommand("/tmp", {"/bin/rm", "-rf", dir_});
  }

  // Starts mmsimd with `flags` on 127.0.0.1:0 and waits for its port file.
  void StartServer(std::vector<std::string> flags) {
    const std::string port_file = dir_ + "/port";
    std::vector<std::string> argv = {
        MMSIMD_PATH, "--grpc_address=127.0.0.1:0",
        "--metrics_address=", "--port_file=" + port_file};
    argv.insert(argv.end(), flags.begin(), flags.end());
    server_pid_ = Spawn(argv, dir_ + "/server.out", dir_ + "/server.err");
    ASSERT_GT(server_pid_, 0);
    const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    while (grpc_port_ == 0) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "mmsimd did not write " << port_file << "\n"
          << ReadFile(dir_ + "/server.err");
      int status = 0;
      ASSERT_EQ(waitpid(server_pid_, &status, WNOHANG), 0)
          << "mmsimd exited early:\n"
          << ReadFile(dir_ + "/server.err");
      for (absl::string_view line :
           absl::StrSplit(ReadFile(port_file), '\n', absl::SkipEmpty())) {
        int port = 0;
        if (absl::ConsumePrefix(&line, "grpc_port=") &&
            absl::SimpleAtoi(line, &port)) {
          grpc_port_ = port;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // Sends `sig` and returns the server's wait status (-1 if it ignored it).
  int StopServer(int sig = SIGTERM) {
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

  void ExpectCleanStop() {
    const int status = StopServer(SIGTERM);
    ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
    EXPECT_EQ(WEXITSTATUS(status), 0) << ReadFile(dir_ + "/server.err");
  }

  std::string Target() const { return absl::StrCat("127.0.0.1:", grpc_port_); }

  // Client options for this server; TLS checked against the test CA.
  client::ClientOptions Options(bool tls) const {
    client::ClientOptions options;
    options.target = Target();
    options.deadline = kCallDeadline;
    options.tls = tls;
    if (tls) options.tls_ca_file = Cert("ca.crt");
    return options;
  }

  client::MmClient Client(const client::ClientOptions& options) {
    absl::StatusOr<client::MmClient> c = client::MmClient::Connect(options);
    EXPECT_TRUE(c.ok()) << c.status();
    return *std::move(c);
  }

  CommandResult Mmctl(std::vector<std::string> args) {
    std::vector<std::string> argv = {MMCTL_PATH, "--server=" + Target()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(dir_, argv);
  }

  std::vector<std::string> TlsFlags(bool mutual) const {
    std::vector<std::string> flags = {"--tls_cert=" + Cert("server.crt"),
                                      "--tls_key=" + Cert("server.key")};
    if (mutual) flags.push_back("--tls_client_ca=" + Cert("ca.crt"));
    return flags;
  }

  static std::string* certs_;
  std::string dir_;
  pid_t server_pid_ = 0;
  int grpc_port_ = 0;
};

std::string* SecurityE2eTest::certs_ = nullptr;

TEST_F(SecurityE2eTest, TlsCallWorksAndPlaintextClientFails) {
  StartServer(TlsFlags(/*mutual=*/false));
  EXPECT_THAT(ReadFile(dir_ + "/server.out"), HasSubstr("mmsimd: TLS, "));
  client::MmClient tls = Client(Options(/*tls=*/true));
  absl::StatusOr<int> pid = tls.CreateProcess();
  ASSERT_TRUE(pid.ok()) << pid.status();
  EXPECT_TRUE(tls.GetMm(*pid).ok());

  // The DNS name the certificate carries, given as the name to check
  // (dialling "localhost" itself would go through c-ares, whose resolver
  // leaks a few bytes under LeakSanitizer).
  client::ClientOptions by_name = Options(true);
  by_name.tls_server_name = "localhost";
  EXPECT_TRUE(Client(by_name).GetMm(*pid).ok());
  client::ClientOptions wrong_name = Options(true);
  wrong_name.tls_server_name = "example.com";
  EXPECT_EQ(Client(wrong_name).GetMm(*pid).status().code(),
            absl::StatusCode::kUnavailable);

  client::MmClient plain = Client(Options(/*tls=*/false));
  EXPECT_EQ(plain.GetMm(*pid).status().code(), absl::StatusCode::kUnavailable);

  // A client that does not trust the server's CA.
  client::ClientOptions wrong_ca = Options(true);
  wrong_ca.tls_ca_file = Cert("other_ca.crt");
  EXPECT_EQ(Client(wrong_ca).GetMm(*pid).status().code(),
            absl::StatusCode::kUnavailable);
  ExpectCleanStop();
}

TEST_F(SecurityE2eTest, MutualTlsNeedsAClientCertificateFromTheCa) {
  StartServer(TlsFlags(/*mutual=*/true));
  EXPECT_THAT(ReadFile(dir_ + "/server.out"), HasSubstr("mutual TLS"));
  client::MmClient no_cert = Client(Options(true));
  EXPECT_EQ(no_cert.CreateProcess().status().code(),
            absl::StatusCode::kUnavailable);

  client::ClientOptions stranger = Options(true);
  stranger.tls_cert_file = Cert("stranger.crt");
  stranger.tls_key_file = Cert("stranger.key");
  EXPECT_EQ(Client(stranger).CreateProcess().status().code(),
            absl::StatusCode::kUnavailable);

  client::ClientOptions with_cert = Options(true);
  with_cert.tls_cert_file = Cert("client.crt");
  with_cert.tls_key_file = Cert("client.key");
  client::MmClient client = Client(with_cert);
  absl::StatusOr<int> pid = client.CreateProcess();
  ASSERT_TRUE(pid.ok()) << pid.status();
  EXPECT_TRUE(client.GetMm(*pid).ok());
  ExpectCleanStop();
}

// Missing or wrong token: UNAUTHENTICATED and the mm is unchanged; health
// stays open. Run without TLS and with TLS.
void CheckTokenRules(client::ClientOptions options, client::MmClient& authed) {
  absl::StatusOr<int> pid = authed.CreateProcess();
  ASSERT_TRUE(pid.ok()) << pid.status();
  absl::StatusOr<v1::GetMmResponse> before = authed.GetMm(*pid);
  ASSERT_TRUE(before.ok()) << before.status();

  for (const std::string token :
       {"", "wrong", "s3cret-t0ke", "s3cret-t0kenX"}) {
    options.token = token;
    absl::StatusOr<client::MmClient> c = client::MmClient::Connect(options);
    ASSERT_TRUE(c.ok());
    absl::StatusOr<uint64_t> mapped = c->MmapAnon(
        *pid, 0, 16 * kPageSize, kProtRead | kProtWrite, kMapPrivate);
    EXPECT_EQ(mapped.status().code(), absl::StatusCode::kUnauthenticated)
        << "token \"" << token << "\"";
    EXPECT_EQ(c->CreateProcess().status().code(),
              absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(c->RemoveProcess(*pid).code(),
              absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(c->ListProcesses().status().code(),
              absl::StatusCode::kUnauthenticated);
  }
  // A raw "authorization" value without the scheme is refused too.
  {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
        client::MmClient::NewChannel(options);
    ASSERT_TRUE(channel.ok());
    auto stub = v1::MemoryManager::NewStub(*channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    ctx.AddMetadata("authorization", kToken);
    v1::ListProcessesResponse resp;
    EXPECT_EQ(stub->ListProcesses(&ctx, v1::ListProcessesRequest(), &resp)
                  .error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    // Health needs no token, so probes work.
    EXPECT_EQ(std::get<HealthCheckResponse::ServingStatus>(Health(*channel)),
              HealthCheckResponse::SERVING);
  }

  absl::StatusOr<v1::GetMmResponse> after = authed.GetMm(*pid);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->DebugString(), before->DebugString());
  absl::StatusOr<std::vector<v1::ProcessSummary>> ps = authed.ListProcesses();
  ASSERT_TRUE(ps.ok());
  EXPECT_EQ(ps->size(), 1u);
}

TEST_F(SecurityE2eTest, TokenIsRequiredWithoutTls) {
  const std::string token_file = dir_ + "/token";
  WriteFile(token_file, absl::StrCat("  ", kToken, "\n"));  // trimmed
  StartServer({"--token_file=" + token_file});
  EXPECT_THAT(ReadFile(dir_ + "/server.out"),
              HasSubstr("bearer token required"));
  client::ClientOptions options = Options(false);
  client::ClientOptions with_token = options;
  with_token.token = kToken;
  client::MmClient authed = Client(with_token);
  CheckTokenRules(options, authed);
  ExpectCleanStop();
}

TEST_F(SecurityE2eTest, TokenIsRequiredWithTls) {
  std::vector<std::string> flags = TlsFlags(false);
  flags.push_back(absl::StrCat("--token=", kToken));
  StartServer(flags);
  client::ClientOptions options = Options(true);
  client::ClientOptions with_token = options;
  with_token.token = kToken;
  client::MmClient authed = Client(with_token);
  CheckTokenRules(options, authed);
  ExpectCleanStop();
}

TEST_F(SecurityE2eTest, MmctlWithTlsAndToken) {
  std::vector<std::string> flags = TlsFlags(/*mutual=*/true);
  flags.push_back(absl::StrCat("--token=", kToken));
  StartServer(flags);
  const std::string token_file = dir_ + "/token";
  WriteFile(token_file, absl::StrCat(kToken, "\n"));
  const std::vector<std::string> tls = {"--tls", "--tls_ca", Cert("ca.crt"),
                                        "--tls_cert=" + Cert("client.crt"),
                                        "--tls-key=" + Cert("client.key")};
  auto with = [&tls](std::vector<std::string> extra,
                     std::vector<std::string> verb) {
    std::vector<std::string> args = tls;
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), verb.begin(), verb.end());
    return args;
  };
  CommandResult create =
      Mmctl(with({"--token_file", token_file, "--deadline=20s"}, {"create"}));
  ASSERT_EQ(create.exit_code, 0) << create.err;
  const std::string pid(absl::StripAsciiWhitespace(create.out));
  CommandResult mmap = Mmctl(
      with({absl::StrCat("--token=", kToken)}, {"mmap", pid, "--len", "8K"}));
  ASSERT_EQ(mmap.exit_code, 0) << mmap.err;
  EXPECT_THAT(mmap.out, StartsWith("0x"));
  CommandResult maps = Mmctl(with({"--token_file", token_file}, {"maps", pid}));
  ASSERT_EQ(maps.exit_code, 0) << maps.err;
  EXPECT_THAT(maps.out, HasSubstr("[stack]"));

  CommandResult no_token = Mmctl(with({}, {"maps", pid}));
  EXPECT_EQ(no_token.exit_code, 1);
  EXPECT_THAT(no_token.err, StartsWith("mmctl: maps: UNAUTHENTICATED: "));
  CommandResult plain =
      Mmctl({absl::StrCat("--token=", kToken), "--deadline=20000", "ps"});
  EXPECT_EQ(plain.exit_code, 1);
  EXPECT_THAT(plain.err, StartsWith("mmctl: ps: UNAVAILABLE: "));
  // Usage errors: exit 2.
  EXPECT_EQ(Mmctl({"--tls_ca", Cert("ca.crt"), "ps"}).exit_code, 2);
  EXPECT_EQ(Mmctl({"--deadline=soon", "ps"}).exit_code, 2);
  EXPECT_EQ(Mmctl({"--tls", "--tls_ca=/nonexistent", "ps"}).exit_code, 2);
  EXPECT_EQ(Mmctl({"--token=a", "--token_file", token_file, "ps"}).exit_code,
            2);
  ExpectCleanStop();
}

TEST_F(SecurityE2eTest, NonLoopbackAddressesNeedAllowRemote) {
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{
           {"--grpc_address=0.0.0.0:0", "--metrics_address="},
           {"--grpc_address=[::]:0", "--metrics_address="},
           {"--grpc_address=127.0.0.1:0", "--metrics_address=0.0.0.0:0"},
           {"--grpc_address=example.com:0", "--metrics_address="}}) {
    std::vector<std::string> argv = {MMSIMD_PATH};
    argv.insert(argv.end(), flags.begin(), flags.end());
    CommandResult r = RunCommand(dir_, argv);
    EXPECT_EQ(r.exit_code, 2) << flags[0] << " " << flags[1];
    EXPECT_THAT(r.err, HasSubstr("is not a loopback address; pass "
                                 "--allow_remote"));
  }
  // Loopback spellings are fine without it.
  for (const char* address :
       {"127.0.0.1:0", "localhost:0", "[::1]:0", "127.1.2.3:0"}) {
    StartServer({absl::StrCat("--grpc_address=", address)});
    ExpectCleanStop();
    grpc_port_ = 0;
    unlink((dir_ + "/port").c_str());
  }
  // With --allow_remote the wildcard address is served.
  StartServer({"--grpc_address=0.0.0.0:0", "--allow_remote"});
  client::MmClient client = Client(Options(false));
  EXPECT_TRUE(client.ListProcesses().ok());
  EXPECT_THAT(ReadFile(dir_ + "/server.err"),
              HasSubstr("mmsimd: warning: 0.0.0.0:0 is reachable from other "
                        "machines without TLS or a token"));
  ExpectCleanStop();
}

TEST_F(SecurityE2eTest, BadSecurityAndLimitFlagsStopAtStartup) {
  const std::string token_file = dir_ + "/empty";
  WriteFile(token_file, " \n");
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{
           {"--max_message_bytes=0"},
           {"--max_message_bytes=2000000000"},
           {"--max_concurrent_streams=0"},
           {"--tls_cert=" + Cert("server.crt")},
           {"--tls_key=" + Cert("server.key")},
           {"--tls_client_ca=" + Cert("ca.crt")},
           {"--tls_cert=/nonexistent", "--tls_key=" + Cert("server.key")},
           {"--tls_cert=" + Cert("server.ext"),
            "--tls_key=" + Cert("server.key")},
           {"--token_file=/nonexistent"},
           {"--token_file=" + token_file},
           {"--token=x", "--token_file=" + token_file}}) {
    std::vector<std::string> argv = {MMSIMD_PATH, "--grpc_address=127.0.0.1:0",
                                     "--metrics_address="};
    argv.insert(argv.end(), flags.begin(), flags.end());
    CommandResult r = RunCommand(dir_, argv);
    EXPECT_EQ(r.exit_code, 2) << flags[0];
    EXPECT_THAT(r.err, StartsWith("mmsimd: --")) << flags[0];
  }
}

TEST_F(SecurityE2eTest, UnusableCertificateOrKeyStopsTheServer) {
  // PEM files that gRPC refuses when it builds the listener: exit 1.
  const std::string broken = dir_ + "/broken.crt";
  WriteFile(broken,
            "-----BEGIN CERTIFICATE-----\nnot base64\n"
            "-----END CERTIFICATE-----\n");
  for (const std::vector<std::string>& flags :
       std::vector<std::vector<std::string>>{
           {"--tls_cert=" + Cert("server.crt"),
            "--tls_key=" + Cert("client.key")},
           {"--tls_cert=" + broken, "--tls_key=" + Cert("server.key")}}) {
    std::vector<std::string> argv = {MMSIMD_PATH, "--grpc_address=127.0.0.1:0",
                                     "--metrics_address="};
    argv.insert(argv.end(), flags.begin(), flags.end());
    CommandResult r = RunCommand(dir_, argv);
    EXPECT_EQ(r.exit_code, 1) << flags[0] << " " << flags[1];
    EXPECT_THAT(r.err, HasSubstr("mmsimd: cannot listen on 127.0.0.1:0 with "
                                 "TLS"));
  }
}

TEST_F(SecurityE2eTest, OversizedRequestIsResourceExhausted) {
  StartServer({"--max_message_bytes=65536"});
  client::MmClient client = Client(Options(false));
  absl::StatusOr<v1::FileInfo> small = client.CreateFile("/small", kPageSize);
  ASSERT_TRUE(small.ok()) << small.status();
  absl::StatusOr<v1::FileInfo> big =
      client.CreateFile("/" + std::string(100000, 'x'), kPageSize);
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted)
      << big.status();
  absl::StatusOr<std::vector<v1::FileInfo>> files = client.ListFiles();
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(files->size(), 1u);
  ExpectCleanStop();
}

// A populate of this many bytes keeps one Mmap call busy for a while (about
// 75 ms per GiB in a -O1 build; longer under ASan).
constexpr uint64_t kSlowPopulateBytes = uint64_t{24} << 30;
const std::string kSlowFrames =
    absl::StrCat("--frames=", kSlowPopulateBytes / kPageSize + (1 << 16));

TEST_F(SecurityE2eTest, ExpiredDeadlineIsDeadlineExceeded) {
  StartServer({kSlowFrames});
  client::MmClient client = Client(Options(false));
  absl::StatusOr<int> pid = client.CreateProcess();
  ASSERT_TRUE(pid.ok()) << pid.status();
  client::ClientOptions hasty = Options(false);
  hasty.deadline = std::chrono::milliseconds(1);
  absl::StatusOr<uint64_t> mapped =
      Client(hasty).MmapAnon(*pid, 0, uint64_t{4} << 30, kProtRead | kProtWrite,
                             kMapPrivate | kMapPopulate);
  EXPECT_EQ(mapped.status().code(), absl::StatusCode::kDeadlineExceeded);
  CommandResult r =
      Mmctl({"--deadline=1ms", "mmap", absl::StrCat(*pid), "--len", "4G",
             "--flags", "private,anonymous,populate"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("mmctl: mmap: DEADLINE_EXCEEDED: "));
  client::ClientOptions zero = Options(false);
  zero.deadline = std::chrono::milliseconds(0);
  EXPECT_EQ(client::MmClient::Connect(zero).status().code(),
            absl::StatusCode::kInvalidArgument);
  ExpectCleanStop();
}

// A client of its own connection: channels with the same arguments share
// one connection (gRPC's global subchannel pool) unless told otherwise.
client::MmClient OwnConnection(const std::string& target,
                               std::chrono::milliseconds deadline) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return client::MmClient(grpc::CreateCustomChannel(
                              target, grpc::InsecureChannelCredentials(), args),
                          deadline);
}

// With --max_concurrent_streams=N a connection runs at most N calls at once:
// with N = 1 a quick call on the connection of a slow one waits for it; with
// the default it does not. The order is read on the server's side: the quick
// call reports the free frames it saw, which equal the final count only if it
// ran after the populate (the client threads' wake-up order proves nothing).
TEST_F(SecurityE2eTest, MaxConcurrentStreamsQueuesCallsOnAConnection) {
  constexpr uint64_t kSlowPages = kSlowPopulateBytes / kPageSize;
  for (const bool limited : {true, false}) {
    SCOPED_TRACE(limited ? "--max_concurrent_streams=1" : "default");
    std::vector<std::string> flags = {kSlowFrames};
    if (limited) flags.push_back("--max_concurrent_streams=1");
    StartServer(flags);
    client::MmClient shared =
        OwnConnection(Target(), std::chrono::seconds(300));
    client::MmClient observer = OwnConnection(Target(), kCallDeadline);
    absl::StatusOr<int> pid = observer.CreateProcess();
    ASSERT_TRUE(pid.ok()) << pid.status();
    absl::StatusOr<v1::GetSystemStatsResponse> idle = observer.GetSystemStats();
    ASSERT_TRUE(idle.ok()) << idle.status();
    const uint64_t idle_free = idle->phys().frames_free();

    std::atomic<bool> done{false};
    absl::Status slow_status;
    std::thread slow([&] {
      slow_status =
          shared
              .MmapAnon(*pid, 0, kSlowPopulateBytes, kProtRead | kProtWrite,
                        kMapPrivate | kMapPopulate)
              .status();
      done = true;
    });
    // Wait until the populate is under way but not yet half done, so that
    // it is still running when the quick call reaches the server.
    bool in_flight = false;
    for (int i = 0; i < 30000 && !in_flight && !done; ++i) {
      absl::StatusOr<v1::GetSystemStatsResponse> s = observer.GetSystemStats();
      ASSERT_TRUE(s.ok()) << s.status();
      const uint64_t used = idle_free - s->phys().frames_free();
      ASSERT_LT(used, kSlowPages / 2) << "the populate ran past half way";
      in_flight = used > 0;
      if (!in_flight) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_TRUE(in_flight) << "the populate finished before it was seen";
    // A call that takes none of the populating mm's locks.
    absl::StatusOr<v1::GetSystemStatsResponse> quick = shared.GetSystemStats();
    slow.join();
    ASSERT_TRUE(quick.ok()) << quick.status();
    ASSERT_TRUE(slow_status.ok()) << slow_status;
    absl::StatusOr<v1::GetSystemStatsResponse> after =
        observer.GetSystemStats();
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_EQ(after->phys().frames_free(), idle_free - kSlowPages);
    if (limited) {
      EXPECT_EQ(quick->phys().frames_free(), after->phys().frames_free())
          << "the quick call ran during the populate";
    } else {
      EXPECT_GT(quick->phys().frames_free(), after->phys().frames_free())
          << "the quick call waited for the populate";
    }
    ExpectCleanStop();
    grpc_port_ = 0;
    unlink((dir_ + "/port").c_str());
  }
}

// SIGTERM while a long call is in flight: the call finishes OK, the server
// stops taking calls at once (new connections are refused: UNAVAILABLE),
// and mmsimd exits 0 once the call is done.
TEST_F(SecurityE2eTest, SigtermDrainsCallsInFlight) {
  StartServer({kSlowFrames, "--shutdown_grace_seconds=100"});
  client::MmClient client = Client(Options(false));
  absl::StatusOr<int> pid = client.CreateProcess();
  ASSERT_TRUE(pid.ok()) << pid.status();
  absl::StatusOr<v1::GetSystemStatsResponse> idle = client.GetSystemStats();
  ASSERT_TRUE(idle.ok()) << idle.status();

  std::atomic<bool> done{false};
  absl::Status slow_status;
  std::thread slow([&] {
    client::ClientOptions patient = Options(false);
    patient.deadline = std::chrono::seconds(300);
    slow_status =
        Client(patient)
            .MmapAnon(*pid, 0, kSlowPopulateBytes, kProtRead | kProtWrite,
                      kMapPrivate | kMapPopulate)
            .status();
    done = true;
  });
  // In flight: its populate has taken frames, and it has not returned.
  bool in_flight = false;
  for (int i = 0; i < 6000 && !in_flight && !done; ++i) {
    absl::StatusOr<v1::GetSystemStatsResponse> s = client.GetSystemStats();
    ASSERT_TRUE(s.ok()) << s.status();
    in_flight = s->phys().frames_free() < idle->phys().frames_free() && !done;
    if (!in_flight) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(in_flight) << "the populate finished before it was seen";
  kill(server_pid_, SIGTERM);

  // Fresh connections until one is not served. What gRPC does: health goes
  // NOT_SERVING just before Shutdown() starts; Shutdown() closes the
  // listener and sends GOAWAY, so a new connection is refused (UNAVAILABLE)
  // and a call that reached the server as it began is CANCELLED. Only a
  // call landing in between sees NOT_SERVING. A probe that gets no answer
  // in a second decides nothing and is repeated.
  grpc::StatusCode refusal = grpc::StatusCode::OK;
  bool refused_while_in_flight = false;
  for (int i = 0; i < 6000 && refusal == grpc::StatusCode::OK; ++i) {
    const bool before = !done;
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
        client::MmClient::NewChannel(Options(false));
    ASSERT_TRUE(channel.ok());
    auto stub = grpc::health::v1::Health::NewStub(*channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(1));
    HealthCheckResponse resp;
    grpc::Status s =
        stub->Check(&ctx, grpc::health::v1::HealthCheckRequest(), &resp);
    if (s.ok() && resp.status() == HealthCheckResponse::NOT_SERVING) {
      refusal = grpc::StatusCode::FAILED_PRECONDITION;  // stands for it
    } else if (!s.ok() &&
               s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      refusal = s.error_code();
    }
    refused_while_in_flight =
        refusal != grpc::StatusCode::OK && before && !done;
    if (refusal == grpc::StatusCode::OK) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  EXPECT_THAT(refusal, ::testing::AnyOf(grpc::StatusCode::FAILED_PRECONDITION,
                                        grpc::StatusCode::UNAVAILABLE,
                                        grpc::StatusCode::CANCELLED));
  EXPECT_TRUE(refused_while_in_flight)
      << "the drain was not observed while the call was in flight";
  // A MemoryManager call on a new connection is not served either.
  client::ClientOptions brief = Options(false);
  brief.deadline = std::chrono::seconds(1);
  absl::Status new_call = Client(brief).ListProcesses().status();
  EXPECT_THAT(new_call.code(),
              ::testing::AnyOf(absl::StatusCode::kUnavailable,
                               absl::StatusCode::kCancelled,
                               absl::StatusCode::kDeadlineExceeded))
      << new_call;

  slow.join();
  EXPECT_TRUE(slow_status.ok()) << slow_status;  // not CANCELLED
  const int status = StopServer(0);              // already stopping: just wait
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << ReadFile(dir_ + "/server.err");
  EXPECT_THAT(ReadFile(dir_ + "/server.out"), HasSubstr("mmsimd: stopped"));
}

}  // namespace
}  // namespace mmsim
