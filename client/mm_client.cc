#include "client/mm_client.h"

#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/limits.h"
#include "core/linux_error.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace mmsim::client {
namespace {

// Must match server/grpc_status.h (the client does not link the server).
constexpr char kErrnoMetadataKey[] = "mmsim-errno";

std::optional<int> ErrnoFromTrailers(const grpc::ClientContext& ctx) {
  const auto& trailers = ctx.GetServerTrailingMetadata();
  auto it = trailers.find(kErrnoMetadataKey);
  if (it == trailers.end()) return std::nullopt;
  int err = 0;
  if (!absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()),
                        &err) ||
      err <= 0) {
    return std::nullopt;
  }
  return err;
}

// A request whose only field is the pid.
template <typename Req>
Req PidRequest(int pid) {
  Req req;
  req.set_pid(pid);
  return req;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

template <typename T>
std::vector<T> ToVector(const google::protobuf::RepeatedPtrField<T>& field) {
  return std::vector<T>(field.begin(), field.end());
}

}  // namespace

absl::Status FromGrpcStatus(const grpc::Status& status,
                            const grpc::ClientContext& ctx) {
  if (status.ok()) return absl::OkStatus();
  // The gRPC and Abseil code enums have the same numbers.
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()),
                   status.error_message());
  if (std::optional<int> err = ErrnoFromTrailers(ctx); err.has_value()) {
    // Copy core's errno payload, whatever its type URL, so LinuxErrno()
    // reads it back exactly as on the server.
    LinuxError(*err, "").ForEachPayload(
        [&out](absl::string_view url, const absl::Cord& payload) {
          out.SetPayload(url, payload);
        });
  }
  return out;
}

absl::Status FromOpStatus(const v1::OpStatus& status) {
  if (status.code() == 0) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(status.code()),
                   status.message());
  if (status.errno_number() > 0) {
    LinuxError(status.errno_number(), "")
        .ForEachPayload(
            [&out](absl::string_view url, const absl::Cord& payload) {
              out.SetPayload(url, payload);
            });
  }
  return out;
}

MmClient::MmClient(std::shared_ptr<grpc::Channel> channel,
                   std::chrono::milliseconds timeout, std::string token)
    : stub_(v1::MemoryManager::NewStub(std::move(channel))),
      timeout_(timeout),
      authorization_(token.empty() ? "" : absl::StrCat("Bearer ", token)) {}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  std::string token(absl::StripAsciiWhitespace(*text));
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is empty"));
  }
  return token;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MmClient::NewChannel(
    const ClientOptions& options) {
  grpc::ChannelArguments args;
  // GetMaps / ListVmas of a process near max_map_count (65530 regions) is
  // about 5 MB, past gRPC's default 4 MB limit on received messages.
  args.SetMaxReceiveMessageSize(kMaxResponseBytes);
  if (options.own_connection) {
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  }
  if (!options.tls) {
    if (!options.tls_ca_file.empty() || !options.tls_cert_file.empty() ||
        !options.tls_key_file.empty() || !options.tls_server_name.empty()) {
      return absl::InvalidArgumentError("TLS files given without TLS");
    }
    return grpc::CreateCustomChannel(options.target,
                                     grpc::InsecureChannelCredentials(), args);
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "a client certificate and its key go together");
  }
  grpc::SslCredentialsOptions ssl;
  if (!options.tls_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadFile(options.tls_ca_file);
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *std::move(ca);
  }
  if (!options.tls_cert_file.empty()) {
    absl::StatusOr<std::string> cert = ReadFile(options.tls_cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFile(options.tls_key_file);
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
  }
  if (!options.tls_server_name.empty()) {
    args.SetSslTargetNameOverride(options.tls_server_name);
  }
  return grpc::CreateCustomChannel(options.target, grpc::SslCredentials(ssl),
                                   args);
}

absl::StatusOr<MmClient> MmClient::Connect(const ClientOptions& options) {
  if (options.deadline <= std::chrono::milliseconds::zero()) {
    return absl::InvalidArgumentError("the deadline must be > 0");
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = NewChannel(options);
  if (!channel.ok()) return channel.status();
  return MmClient(*std::move(channel), options.deadline, options.token);
}

void MmClient::PrepareContext(grpc::ClientContext* ctx) const {
  ctx->set_deadline(std::chrono::system_clock::now() + timeout_);
  if (!authorization_.empty()) {
    ctx->AddMetadata("authorization", authorization_);
  }
}

MmClient MmClient::Connect(const std::string& target,
                           std::chrono::milliseconds timeout) {
  grpc::ChannelArguments args;
  // GetMaps / ListVmas of a process near max_map_count (65530 regions) is
  // about 5 MB, past gRPC's default 4 MB limit on received messages.
  args.SetMaxReceiveMessageSize(kMaxResponseBytes);
  return MmClient(grpc::CreateCustomChannel(
                      target, grpc::InsecureChannelCredentials(), args),
                  timeout);
}

template <typename Req, typename Resp>
absl::StatusOr<Resp> MmClient::Call(Method<Req, Resp> method, const Req& req) {
  grpc::ClientContext ctx;
  PrepareContext(&ctx);
  Resp resp;
  grpc::Status status = (stub_.get()->*method)(&ctx, req, &resp);
  if (!status.ok()) return FromGrpcStatus(status, ctx);
  return resp;
}

template <typename Req, typename Resp, typename Get>
auto MmClient::CallAnd(Method<Req, Resp> method, const Req& req, Get get)
    -> absl::StatusOr<decltype(get(std::declval<Resp&>()))> {
  absl::StatusOr<Resp> resp = Call(method, req);
  if (!resp.ok()) return resp.status();
  return get(*resp);
}

absl::StatusOr<int> MmClient::CreateProcess(
    const v1::CreateProcessRequest& req) {
  absl::StatusOr<v1::CreateProcessResponse> resp =
      Call(&v1::MemoryManager::Stub::CreateProcess, req);
  if (!resp.ok()) return resp.status();
  return resp->pid();
}

absl::StatusOr<int> MmClient::CreateProcess() {
  v1::CreateProcessRequest req;
  req.mutable_exec();
  return CreateProcess(req);
}

absl::Status MmClient::RemoveProcess(int pid) {
  v1::RemoveProcessRequest req;
  req.set_pid(pid);
  return Call(&v1::MemoryManager::Stub::RemoveProcess, req).status();
}

absl::StatusOr<std::vector<v1::ProcessSummary>> MmClient::ListProcesses() {
  absl::StatusOr<v1::ListProcessesResponse> resp =
      Call(&v1::MemoryManager::Stub::ListProcesses, v1::ListProcessesRequest());
  if (!resp.ok()) return resp.status();
  return std::vector<v1::ProcessSummary>(resp->processes().begin(),
                                         resp->processes().end());
}

absl::StatusOr<v1::Rlimit> MmClient::SetRlimit(int pid,
                                               v1::RlimitResource resource,
                                               uint64_t cur, uint64_t max) {
  v1::SetRlimitRequest req;
  req.set_pid(pid);
  req.set_resource(resource);
  req.mutable_limit()->set_cur(cur);
  req.mutable_limit()->set_max(max);
  absl::StatusOr<v1::SetRlimitResponse> resp =
      Call(&v1::MemoryManager::Stub::SetRlimit, req);
  if (!resp.ok()) return resp.status();
  return resp->old_limit();
}

absl::StatusOr<v1::FileInfo> MmClient::CreateFile(const std::string& name,
                                                  uint64_t size,
                                                  uint32_t mode) {
  v1::CreateFileRequest req;
  req.set_name(name);
  req.set_size(size);
  req.set_mode(mode);
  absl::StatusOr<v1::CreateFileResponse> resp =
      Call(&v1::MemoryManager::Stub::CreateFile, req);
  if (!resp.ok()) return resp.status();
  return resp->file();
}

absl::StatusOr<std::vector<v1::FileInfo>> MmClient::ListFiles() {
  absl::StatusOr<v1::ListFilesResponse> resp =
      Call(&v1::MemoryManager::Stub::ListFiles, v1::ListFilesRequest());
  if (!resp.ok()) return resp.status();
  return std::vector<v1::FileInfo>(resp->files().begin(), resp->files().end());
}

absl::StatusOr<uint64_t> MmClient::Mmap(const v1::MmapRequest& req) {
  absl::StatusOr<v1::MmapResponse> resp =
      Call(&v1::MemoryManager::Stub::Mmap, req);
  if (!resp.ok()) return resp.status();
  return resp->addr();
}

absl::StatusOr<uint64_t> MmClient::MmapAnon(int pid, uint64_t addr,
                                            uint64_t len, int prot, int flags) {
  v1::MmapRequest req;
  req.set_pid(pid);
  req.set_addr(addr);
  req.set_len(len);
  req.set_prot(prot);
  req.set_flags(flags | kMapAnonymous);
  return Mmap(req);
}

absl::Status MmClient::Munmap(int pid, uint64_t addr, uint64_t len) {
  v1::MunmapRequest req;
  req.set_pid(pid);
  req.set_addr(addr);
  req.set_len(len);
  return Call(&v1::MemoryManager::Stub::Munmap, req).status();
}

absl::Status MmClient::Mprotect(int pid, uint64_t addr, uint64_t len,
                                int prot) {
  v1::MprotectRequest req;
  req.set_pid(pid);
  req.set_addr(addr);
  req.set_len(len);
  req.set_prot(prot);
  return Call(&v1::MemoryManager::Stub::Mprotect, req).status();
}

absl::StatusOr<uint64_t> MmClient::Mremap(int pid, uint64_t old_addr,
                                          uint64_t old_len, uint64_t new_len,
                                          int flags, uint64_t new_addr) {
  v1::MremapRequest req;
  req.set_pid(pid);
  req.set_old_addr(old_addr);
  req.set_old_len(old_len);
  req.set_new_len(new_len);
  req.set_flags(flags);
  req.set_new_addr(new_addr);
  absl::StatusOr<v1::MremapResponse> resp =
      Call(&v1::MemoryManager::Stub::Mremap, req);
  if (!resp.ok()) return resp.status();
  return resp->addr();
}

absl::StatusOr<uint64_t> MmClient::Brk(int pid, uint64_t brk) {
  v1::BrkRequest req;
  req.set_pid(pid);
  req.set_brk(brk);
  absl::StatusOr<v1::BrkResponse> resp =
      Call(&v1::MemoryManager::Stub::Brk, req);
  if (!resp.ok()) return resp.status();
  return resp->brk();
}

absl::Status MmClient::Mlock(int pid, uint64_t addr, uint64_t len, int flags) {
  v1::MlockRequest req;
  req.set_pid(pid);
  req.set_addr(addr);
  req.set_len(len);
  req.set_flags(flags);
  return Call(&v1::MemoryManager::Stub::Mlock, req).status();
}

absl::Status MmClient::Munlock(int pid, uint64_t addr, uint64_t len) {
  v1::MunlockRequest req;
  req.set_pid(pid);
  req.set_addr(addr);
  req.set_len(len);
  return Call(&v1::MemoryManager::Stub::Munlock, req).status();
}

absl::Status MmClient::Mlockall(int pid, int flags) {
  v1::MlockallRequest req;
  req.set_pid(pid);
  req.set_flags(flags);
  return Call(&v1::MemoryManager::Stub::Mlockall, req).status();
}

absl::Status MmClient::Munlockall(int pid) {
  v1::MunlockallRequest req;
  req.set_pid(pid);
  return Call(&v1::MemoryManager::Stub::Munlockall, req).status();
}

absl::Status MmClient::Madvise(int pid, uint64_t addr, uint64_t len,
                               int advice) {
  v1::MadviseRequest req;
  req.set_pid(pid);
  req.set_addr(addr);
  req.set_len(len);
  req.set_advice(advice);
  return Call(&v1::MemoryManager::Stub::Madvise, req).status();
}

absl::StatusOr<v1::FindVmaResponse> MmClient::FindVma(int pid, uint64_t addr,
                                                      v1::FindMode mode,
                                                      uint64_t end) {
  v1::FindVmaRequest req;
  req.set_pid(pid);
  req.set_addr(addr);
  req.set_mode(mode);
  req.set_end(end);
  return Call(&v1::MemoryManager::Stub::FindVma, req);
}

absl::StatusOr<uint64_t> MmClient::GetUnmappedArea(
    const v1::GetUnmappedAreaRequest& req) {
  absl::StatusOr<v1::GetUnmappedAreaResponse> resp =
      Call(&v1::MemoryManager::Stub::GetUnmappedArea, req);
  if (!resp.ok()) return resp.status();
  return resp->addr();
}

absl::StatusOr<v1::GetMmResponse> MmClient::GetMm(int pid) {
  v1::GetMmRequest req;
  req.set_pid(pid);
  return Call(&v1::MemoryManager::Stub::GetMm, req);
}

absl::StatusOr<std::vector<v1::VmaInfo>> MmClient::ListVmas(int pid) {
  v1::ListVmasRequest req;
  req.set_pid(pid);
  absl::StatusOr<v1::ListVmasResponse> resp =
      Call(&v1::MemoryManager::Stub::ListVmas, req);
  if (!resp.ok()) return resp.status();
  return std::vector<v1::VmaInfo>(resp->vmas().begin(), resp->vmas().end());
}

absl::StatusOr<std::string> MmClient::GetMaps(int pid) {
  v1::GetMapsRequest req;
  req.set_pid(pid);
  absl::StatusOr<v1::GetMapsResponse> resp =
      Call(&v1::MemoryManager::Stub::GetMaps, req);
  if (!resp.ok()) return resp.status();
  return std::move(*resp->mutable_text());
}

using Stub = v1::MemoryManager::Stub;

absl::StatusOr<int> MmClient::Clone(int pid, int flags) {
  v1::CloneRequest req = PidRequest<v1::CloneRequest>(pid);
  req.set_flags(flags);
  return CallAnd(&Stub::Clone, req,
                 [](const v1::CloneResponse& r) { return r.pid(); });
}

absl::StatusOr<int> MmClient::Fork(int pid) {
  return CallAnd(&Stub::Fork, PidRequest<v1::ForkRequest>(pid),
                 [](const v1::ForkResponse& r) { return r.pid(); });
}

absl::StatusOr<int> MmClient::Exec(int pid, const v1::ExecImage& image) {
  v1::ExecRequest req = PidRequest<v1::ExecRequest>(pid);
  *req.mutable_image() = image;
  return CallAnd(&Stub::Exec, req,
                 [](const v1::ExecResponse& r) { return r.pid(); });
}

absl::Status MmClient::Exit(int pid) {
  return Call(&Stub::Exit, PidRequest<v1::ExitRequest>(pid)).status();
}

absl::StatusOr<int> MmClient::CreateKernelThread(const std::string& name) {
  v1::CreateKernelThreadRequest req;
  req.set_name(name);
  return CallAnd(
      &Stub::CreateKernelThread, req,
      [](const v1::CreateKernelThreadResponse& r) { return r.pid(); });
}

absl::Status MmClient::Schedule(int cpu, int pid) {
  v1::ScheduleRequest req = PidRequest<v1::ScheduleRequest>(pid);
  req.set_cpu(cpu);
  return Call(&Stub::Schedule, req).status();
}

absl::StatusOr<v1::TouchResponse> MmClient::Touch(int pid, uint64_t addr,
                                                  v1::FaultAccess access,
                                                  bool kernel_mode) {
  v1::TouchRequest req = PidRequest<v1::TouchRequest>(pid);
  req.set_addr(addr);
  req.set_access(access);
  req.set_kernel_mode(kernel_mode);
  return Call(&Stub::Touch, req);
}

absl::StatusOr<std::string> MmClient::Mincore(int pid, uint64_t start,
                                              uint64_t len) {
  v1::MincoreRequest req = PidRequest<v1::MincoreRequest>(pid);
  req.set_start(start);
  req.set_len(len);
  return CallAnd(&Stub::Mincore, req, [](v1::MincoreResponse& r) {
    return std::move(*r.mutable_vec());
  });
}

absl::StatusOr<uint64_t> MmClient::Vmalloc(uint64_t pages) {
  v1::VmallocRequest req;
  req.set_pages(pages);
  return CallAnd(&Stub::Vmalloc, req,
                 [](const v1::VmallocResponse& r) { return r.addr(); });
}

absl::Status MmClient::Vfree(uint64_t addr) {
  v1::VfreeRequest req;
  req.set_addr(addr);
  return Call(&Stub::Vfree, req).status();
}

absl::StatusOr<uint64_t> MmClient::Reclaim(uint64_t pages) {
  v1::ReclaimRequest req;
  req.set_pages(pages);
  return CallAnd(&Stub::Reclaim, req,
                 [](const v1::ReclaimResponse& r) { return r.freed(); });
}

absl::StatusOr<v1::GetSmapsResponse> MmClient::GetSmaps(int pid) {
  return Call(&Stub::GetSmaps, PidRequest<v1::GetSmapsRequest>(pid));
}

absl::StatusOr<std::string> MmClient::GetStatus(int pid) {
  return CallAnd(
      &Stub::GetStatus, PidRequest<v1::GetStatusRequest>(pid),
      [](v1::GetStatusResponse& r) { return std::move(*r.mutable_text()); });
}

absl::StatusOr<std::vector<v1::TaskInfo>> MmClient::ListTasks() {
  return CallAnd(
      &Stub::ListTasks, v1::ListTasksRequest(),
      [](const v1::ListTasksResponse& r) { return ToVector(r.tasks()); });
}

absl::StatusOr<std::vector<v1::MmInfo>> MmClient::ListMms() {
  return CallAnd(
      &Stub::ListMms, v1::ListMmsRequest(),
      [](const v1::ListMmsResponse& r) { return ToVector(r.mms()); });
}

absl::StatusOr<std::vector<v1::CpuInfo>> MmClient::ListCpus() {
  return CallAnd(
      &Stub::ListCpus, v1::ListCpusRequest(),
      [](const v1::ListCpusResponse& r) { return ToVector(r.cpus()); });
}

absl::StatusOr<v1::GetSystemStatsResponse> MmClient::GetSystemStats() {
  return Call(&Stub::GetSystemStats, v1::GetSystemStatsRequest());
}

absl::StatusOr<std::string> MmClient::Ping(const std::string& payload) {
  v1::PingRequest req;
  req.set_payload(payload);
  absl::StatusOr<v1::PingResponse> resp = Call(&Stub::Ping, req);
  if (!resp.ok()) return resp.status();
  return resp->payload();
}

absl::StatusOr<v1::GetLockStatsResponse> MmClient::GetLockStats() {
  return Call(&Stub::GetLockStats, v1::GetLockStatsRequest());
}

absl::StatusOr<std::vector<v1::BatchResponse>> MmClient::Batch(
    const std::vector<v1::BatchRequest>& requests) {
  grpc::ClientContext ctx;
  PrepareContext(&ctx);  // the deadline and the token
  std::unique_ptr<grpc::ClientReaderWriter<v1::BatchRequest, v1::BatchResponse>>
      stream = stub_->Batch(&ctx);
  // Writing everything before reading could stall on flow control once
  // the responses fill the window, so a thread writes while this one reads.
  std::thread writer([&stream, &requests] {
    for (const v1::BatchRequest& req : requests) {
      if (!stream->Write(req)) return;  // the stream failed: Finish says why
    }
    stream->WritesDone();
  });
  std::vector<v1::BatchResponse> responses;
  responses.reserve(requests.size());
  v1::BatchResponse resp;
  while (stream->Read(&resp)) responses.push_back(std::move(resp));
  writer.join();
  grpc::Status status = stream->Finish();
  if (!status.ok()) return FromGrpcStatus(status, ctx);
  return responses;
}

}  // namespace mmsim::client
