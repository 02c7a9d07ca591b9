// MmClient: a C++ client of mmsim.v1.MemoryManager. Every call returns an
// absl::Status / absl::StatusOr whose code is the gRPC code and which
// carries the Linux errno the server sent (trailing metadata "mmsim-errno"),
// so mmsim::LinuxErrno(status) works on the client side as in core.
#ifndef MMSIM_CLIENT_MM_CLIENT_H_
#define MMSIM_CLIENT_MM_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"
#include "mmsim/v1/mmsim.grpc.pb.h"

namespace mmsim::client {

// Rebuilds the absl::Status of a finished call: the same code and message,
// plus the errno payload when the server sent "mmsim-errno".
absl::Status FromGrpcStatus(const grpc::Status& status,
                            const grpc::ClientContext& ctx);

// How to reach mmsimd: transport security, credentials, deadline.
struct ClientOptions {
  std::string target = "127.0.0.1:50051";
  // TLS. The server's certificate is checked against `tls_ca_file` (PEM),
  // or the system's roots when it is empty.
  bool tls = false;
  std::string tls_ca_file;
  // Client certificate and key (PEM files) for mutual TLS; both or neither.
  std::string tls_cert_file;
  std::string tls_key_file;
  // The name the server certificate must carry, if not the target's host.
  std::string tls_server_name;
  // Sent as "authorization: Bearer <token>" on every call; empty: none.
  std::string token;
  // Deadline of each call, counted from its start.
  std::chrono::milliseconds deadline = std::chrono::seconds(30);
  // A TCP connection of the channel's own: gRPC otherwise shares one
  // connection among channels to the same target with the same options.
  bool own_connection = false;
};

// The token in `path` without surrounding whitespace. Errors: NOT_FOUND if
// it cannot be read, INVALID_ARGUMENT if it is empty.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// Rebuilds the absl::Status of one Batch op (or of a rejected BatchRequest)
// the same way: code, message and errno payload. An unset status is OK.
absl::Status FromOpStatus(const v1::OpStatus& status);

// Thread-safe (gRPC stubs are). Each call has a deadline of `timeout`.
class MmClient {
 public:
  explicit MmClient(
      std::shared_ptr<grpc::Channel> channel,
      std::chrono::milliseconds timeout = std::chrono::seconds(30),
      std::string token = "");
  // Largest response Connect() accepts (gRPC's default is 4 MB).
  static constexpr int kMaxResponseBytes = 64 << 20;

  // Connects (lazily) to `target` ("127.0.0.1:50051") without TLS.
  static MmClient Connect(
      const std::string& target,
      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Connects (lazily) as `options` say. Errors: NOT_FOUND if a file cannot
  // be read, INVALID_ARGUMENT for a certificate without its key (or the
  // reverse) or a deadline <= 0.
  static absl::StatusOr<MmClient> Connect(const ClientOptions& options);
  // The channel Connect(options) uses, for other stubs (health, ...).
  static absl::StatusOr<std::shared_ptr<grpc::Channel>> NewChannel(
      const ClientOptions& options);

  // Sets the deadline and the token of this client on `ctx`, for calls made
  // through stub() directly.
  void PrepareContext(grpc::ClientContext* ctx) const;

  // --- processes and files ---
  absl::StatusOr<int> CreateProcess(const v1::CreateProcessRequest& req);
  // A process with the default exec layout.
  absl::StatusOr<int> CreateProcess();
  absl::Status RemoveProcess(int pid);
  absl::StatusOr<std::vector<v1::ProcessSummary>> ListProcesses();
  // prlimit(2); returns the old limit.
  absl::StatusOr<v1::Rlimit> SetRlimit(int pid, v1::RlimitResource resource,
                                       uint64_t cur, uint64_t max);
  absl::StatusOr<v1::FileInfo> CreateFile(const std::string& name,
                                          uint64_t size, uint32_t mode = 0644);
  absl::StatusOr<std::vector<v1::FileInfo>> ListFiles();

  // --- system calls (Linux numeric prot / flags / advice) ---
  absl::StatusOr<uint64_t> Mmap(const v1::MmapRequest& req);
  // An anonymous mapping: mmap(addr, len, prot, flags, -1, 0).
  absl::StatusOr<uint64_t> MmapAnon(int pid, uint64_t addr, uint64_t len,
                                    int prot, int flags);
  absl::Status Munmap(int pid, uint64_t addr, uint64_t len);
  absl::Status Mprotect(int pid, uint64_t addr, uint64_t len, int prot);
  absl::StatusOr<uint64_t> Mremap(int pid, uint64_t old_addr, uint64_t old_len,
                                  uint64_t new_len, int flags,
                                  uint64_t new_addr = 0);
  // Returns the new break (the old one if it could not move); 0 queries.
  absl::StatusOr<uint64_t> Brk(int pid, uint64_t brk);
  absl::Status Mlock(int pid, uint64_t addr, uint64_t len, int flags = 0);
  absl::Status Munlock(int pid, uint64_t addr, uint64_t len);
  absl::Status Mlockall(int pid, int flags);
  absl::Status Munlockall(int pid);
  absl::Status Madvise(int pid, uint64_t addr, uint64_t len, int advice);

  // --- lookups ---
  absl::StatusOr<v1::FindVmaResponse> FindVma(int pid, uint64_t addr,
                                              v1::FindMode mode = v1::FIND_VMA,
                                              uint64_t end = 0);
  absl::StatusOr<uint64_t> GetUnmappedArea(
      const v1::GetUnmappedAreaRequest& req);
  absl::StatusOr<v1::GetMmResponse> GetMm(int pid);
  absl::StatusOr<std::vector<v1::VmaInfo>> ListVmas(int pid);
  absl::StatusOr<std::string> GetMaps(int pid);

  // --- tasks ---
  // clone(2) with CLONE_* flags; returns the child's pid.
  absl::StatusOr<int> Clone(int pid, int flags);
  absl::StatusOr<int> Fork(int pid);
  // execve(2) with `image` (unset fields: the server's defaults).
  // Returns the pid after exec (a thread takes over its leader's pid).
  absl::StatusOr<int> Exec(int pid,
                           const v1::ExecImage& image = v1::ExecImage());
  absl::Status Exit(int pid);
  absl::StatusOr<int> CreateKernelThread(const std::string& name);
  // Runs `pid` on `cpu` (pid 0: the idle task).
  absl::Status Schedule(int cpu, int pid);

  // --- pages ---
  absl::StatusOr<v1::TouchResponse> Touch(int pid, uint64_t addr,
                                          v1::FaultAccess access,
                                          bool kernel_mode = false);
  // mincore(2): one byte per page.
  absl::StatusOr<std::string> Mincore(int pid, uint64_t start, uint64_t len);
  absl::StatusOr<uint64_t> Vmalloc(uint64_t pages);
  absl::Status Vfree(uint64_t addr);
  // swap_out of up to `pages`; returns the frames freed.
  absl::StatusOr<uint64_t> Reclaim(uint64_t pages);

  // --- system views ---
  absl::StatusOr<v1::GetSmapsResponse> GetSmaps(int pid);
  absl::StatusOr<std::string> GetStatus(int pid);
  absl::StatusOr<std::vector<v1::TaskInfo>> ListTasks();
  absl::StatusOr<std::vector<v1::MmInfo>> ListMms();
  absl::StatusOr<std::vector<v1::CpuInfo>> ListCpus();
  absl::StatusOr<v1::GetSystemStatsResponse> GetSystemStats();
  absl::StatusOr<v1::GetLockStatsResponse> GetLockStats();
  // Returns the payload echoed.
  absl::StatusOr<std::string> Ping(const std::string& payload = "");

  // --- batches ---
  // Sends `requests` on one Batch stream (pipelined: a thread writes while
  // this one reads) and returns one response per request, in order. The
  // stream has this client's deadline. Per-op errors are in the responses
  // (FromOpStatus); the returned status is the stream's own.
  absl::StatusOr<std::vector<v1::BatchResponse>> Batch(
      const std::vector<v1::BatchRequest>& requests);

  // The generated stub, for calls this class does not wrap.
  v1::MemoryManager::Stub* stub() { return stub_.get(); }

 private:
  template <typename Req, typename Resp>
  using Method = grpc::Status (v1::MemoryManager::Stub::*)(grpc::ClientContext*,
                                                           const Req&, Resp*);

  template <typename Req, typename Resp>
  absl::StatusOr<Resp> Call(Method<Req, Resp> method, const Req& req);
  // Calls `method` and returns `get(response)`.
  template <typename Req, typename Resp, typename Get>
  auto CallAnd(Method<Req, Resp> method, const Req& req, Get get)
      -> absl::StatusOr<decltype(get(std::declval<Resp&>()))>;

  std::unique_ptr<v1::MemoryManager::Stub> stub_;
  std::chrono::milliseconds timeout_;
  std::string authorization_;  // "Bearer <token>", or empty
};

}  // namespace mmsim::client

#endif  // MMSIM_CLIENT_MM_CLIENT_H_
