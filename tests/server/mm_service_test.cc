// The gRPC adapter, end to end in one process: a real grpc::Server on
// 127.0.0.1:0 built by StartGrpcServer (as mmsimd builds it) and driven
// through the real MmClient. Checks that every RPC round-trips, that errors
// carry the gRPC code plus the errno trailers, and that malformed requests
// are rejected without touching the simulator.
#include <atomic>
#include <cerrno>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/maps_import.h"
#include "client/mm_client.h"
#include "core/limits.h"
#include "core/linux_error.h"
#include "core/mm_registry.h"
#include "core/vma.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "server/grpc_server.h"
#include "server/grpc_status.h"
#include "server/metrics_collector.h"
#include "server/mm_service_impl.h"

namespace mmsim::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

constexpr int kRw = kProtRead | kProtWrite;
constexpr int kAnon = kMapPrivate | kMapAnonymous;

// The status, code and errno trailers of one raw call.
struct RawResult {
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string message;
  std::string errno_number;  // "mmsim-errno", empty if absent
  std::string errno_name;    // "mmsim-errno-name"
};

class MmServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<StartedServer> started =
        StartGrpcServer("127.0.0.1:0", &service_, &rpc_metrics_);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = std::move(started->server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", started->port),
                                   grpc::InsecureChannelCredentials());
    client_ =
        std::make_unique<client::MmClient>(channel_, std::chrono::seconds(20));
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(5));
    }
  }

  int NewProcess() {
    absl::StatusOr<int> pid = client_->CreateProcess();
    EXPECT_TRUE(pid.ok()) << pid.status();
    return pid.value_or(-1);
  }

  // Calls `method` on a raw stub, keeping the trailers.
  template <typename Req, typename Resp>
  RawResult Raw(grpc::Status (v1::MemoryManager::Stub::*method)(
                    grpc::ClientContext*, const Req&, Resp*),
                const Req& req) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(20));
    Resp resp;
    grpc::Status status = (client_->stub()->*method)(&ctx, req, &resp);
    RawResult out;
    out.code = status.error_code();
    out.message = status.error_message();
    const auto& trailers = ctx.GetServerTrailingMetadata();
    if (auto it = trailers.find(kErrnoMetadataKey); it != trailers.end()) {
      out.errno_number = std::string(it->second.data(), it->second.size());
    }
    if (auto it = trailers.find(kErrnoNameMetadataKey); it != trailers.end()) {
      out.errno_name = std::string(it->second.data(), it->second.size());
    }
    return out;
  }

  std::string Maps(int pid) { return client_->GetMaps(pid).value_or(""); }

  std::string Metrics() {
    return prometheus::TextSerializer().Serialize(metrics_->Collect());
  }

  MmRegistry registry_;
  MmServiceImpl service_{&registry_};
  std::shared_ptr<prometheus::Registry> metrics_ =
      std::make_shared<prometheus::Registry>();
  RpcMetrics rpc_metrics_{metrics_.get()};
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<client::MmClient> client_;
};

// Expects `status` to have `code` and to carry `err` on the client side.
void ExpectErrno(const absl::Status& status, absl::StatusCode code, int err) {
  EXPECT_EQ(status.code(), code) << status;
  EXPECT_EQ(LinuxErrno(status), err) << status;
}

// ------------------------------------------------------------ round trips

TEST_F(MmServiceTest, CreateProcessFromExecImageHasLinuxLayout) {
  const int pid = NewProcess();
  const std::string maps = Maps(pid);
  EXPECT_THAT(maps, HasSubstr("r-xp 00000000"));
  EXPECT_THAT(maps, HasSubstr("/usr/bin/sim"));
  EXPECT_THAT(maps, HasSubstr("[stack]"));
  absl::StatusOr<std::vector<v1::VmaInfo>> vmas = client_->ListVmas(pid);
  ASSERT_TRUE(vmas.ok()) << vmas.status();
  absl::StatusOr<v1::GetMmResponse> mm = client_->GetMm(pid);
  ASSERT_TRUE(mm.ok()) << mm.status();
  EXPECT_EQ(mm->pid(), pid);
  EXPECT_EQ(mm->map_count(), static_cast<int>(vmas->size()));
  uint64_t pages = 0;
  for (const v1::VmaInfo& vma : *vmas) pages += (vma.end() - vma.start()) >> 12;
  EXPECT_EQ(mm->total_vm(), pages);
  EXPECT_EQ(mm->max_map_count(), kDefaultMaxMapCount);
  EXPECT_EQ(mm->mm_users(), 1);
  EXPECT_GT(mm->layout().start_brk(), 0u);
  EXPECT_EQ(mm->rlimits().stack().cur(), uint64_t{8} << 20);
}

TEST_F(MmServiceTest, CreateProcessWithExecSizesAndConfig) {
  v1::CreateProcessRequest req;
  req.mutable_exec()->set_exe_name("/bin/tiny");
  req.mutable_exec()->set_code_bytes(8 * kPageSize);
  req.mutable_config()->set_max_map_count(100);
  req.mutable_config()->mutable_rlimits()->mutable_memlock()->set_cur(0);
  req.mutable_config()->mutable_rlimits()->mutable_memlock()->set_max(0);
  absl::StatusOr<int> pid = client_->CreateProcess(req);
  ASSERT_TRUE(pid.ok()) << pid.status();
  EXPECT_THAT(Maps(*pid), HasSubstr("/bin/tiny"));
  absl::StatusOr<v1::GetMmResponse> mm = client_->GetMm(*pid);
  ASSERT_TRUE(mm.ok());
  EXPECT_EQ(mm->max_map_count(), 100);
  EXPECT_EQ(mm->layout().end_code() - mm->layout().start_code(), 8 * kPageSize);
  EXPECT_EQ(mm->rlimits().memlock().max(), 0u);
}

TEST_F(MmServiceTest, CreateProcessFromDescription) {
  ASSERT_TRUE(client_->CreateFile("/lib/libx.so", 16 * kPageSize).ok());
  v1::CreateProcessRequest req;
  v1::ProcessDescription* desc = req.mutable_description();
  v1::RegionSpec* text = desc->add_regions();
  text->set_start(0x400000);
  text->set_end(0x404000);
  text->set_perms("r-xp");
  text->set_file_name("/lib/libx.so");
  text->set_pgoff(2);
  v1::RegionSpec* anon = desc->add_regions();
  anon->set_start(0x600000);
  anon->set_end(0x602000);
  anon->set_perms("rw-p");
  v1::RegionSpec* stack = desc->add_regions();
  stack->set_start(0x7ff000000000);
  stack->set_end(0x7ff000021000);
  stack->set_perms("rw-p");
  stack->set_extra_vm_flags(kVmGrowsdown);
  desc->mutable_layout()->set_start_stack(0x7ff000020000);
  absl::StatusOr<int> pid = client_->CreateProcess(req);
  ASSERT_TRUE(pid.ok()) << pid.status();

  absl::StatusOr<std::vector<v1::VmaInfo>> vmas = client_->ListVmas(*pid);
  ASSERT_TRUE(vmas.ok());
  ASSERT_THAT(*vmas, SizeIs(3));
  EXPECT_EQ((*vmas)[0].start(), 0x400000u);
  EXPECT_EQ((*vmas)[0].perms(), "r-xp");
  EXPECT_EQ((*vmas)[0].file_name(), "/lib/libx.so");
  EXPECT_EQ((*vmas)[0].pgoff(), 2u);
  EXPECT_NE((*vmas)[0].inode(), 0u);
  EXPECT_EQ((*vmas)[1].perms(), "rw-p");
  EXPECT_EQ((*vmas)[1].pgoff(), 0x600000u >> 12);  // anonymous: vm_start
  EXPECT_EQ((*vmas)[1].file_name(), "");
  EXPECT_NE((*vmas)[2].vm_flags() & kVmGrowsdown, 0u);
  EXPECT_THAT(Maps(*pid), HasSubstr("00002000"));  // file offset, bytes
  EXPECT_THAT(Maps(*pid), HasSubstr("[stack]"));
}

TEST_F(MmServiceTest, RemoveAndListProcesses) {
  const int a = NewProcess();
  const int b = NewProcess();
  absl::StatusOr<std::vector<v1::ProcessSummary>> ps = client_->ListProcesses();
  ASSERT_TRUE(ps.ok());
  ASSERT_THAT(*ps, SizeIs(2));
  EXPECT_EQ((*ps)[0].pid(), a);
  EXPECT_GT((*ps)[0].map_count(), 0);
  EXPECT_GT((*ps)[0].total_vm(), 0u);
  ASSERT_TRUE(client_->RemoveProcess(a).ok());
  ps = client_->ListProcesses();
  ASSERT_TRUE(ps.ok());
  ASSERT_THAT(*ps, SizeIs(1));
  EXPECT_EQ((*ps)[0].pid(), b);
  ExpectErrno(client_->RemoveProcess(a), absl::StatusCode::kNotFound, ESRCH);
}

TEST_F(MmServiceTest, SetRlimitReturnsOldLimit) {
  const int pid = NewProcess();
  absl::StatusOr<v1::Rlimit> old =
      client_->SetRlimit(pid, v1::RLIMIT_RESOURCE_AS, 1 << 20, 2 << 20);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->cur(), kRlimInfinity);
  absl::StatusOr<v1::GetMmResponse> mm = client_->GetMm(pid);
  ASSERT_TRUE(mm.ok());
  EXPECT_EQ(mm->rlimits().as().cur(), 1u << 20);
  EXPECT_EQ(mm->rlimits().as().max(), 2u << 20);
  // prlimit(2): cur > max is EINVAL.
  ExpectErrno(client_->SetRlimit(pid, v1::RLIMIT_RESOURCE_AS, 4096, 0).status(),
              absl::StatusCode::kInvalidArgument, EINVAL);
}

TEST_F(MmServiceTest, CreateAndListFiles) {
  absl::StatusOr<v1::FileInfo> file =
      client_->CreateFile("/data/f", 1 << 20, 0600);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->name(), "/data/f");
  EXPECT_EQ(file->size(), 1u << 20);
  EXPECT_EQ(file->mode(), 0600u);
  absl::StatusOr<std::vector<v1::FileInfo>> files = client_->ListFiles();
  ASSERT_TRUE(files.ok());
  ASSERT_THAT(*files, SizeIs(1));
  EXPECT_EQ((*files)[0].inode(), file->inode());
  ExpectErrno(client_->CreateFile("/data/f", 1).status(),
              absl::StatusCode::kAlreadyExists, EEXIST);
}

TEST_F(MmServiceTest, MmapFindVmaMunmap) {
  const int pid = NewProcess();
  absl::StatusOr<uint64_t> addr =
      client_->MmapAnon(pid, 0, 8 * kPageSize, kRw, kAnon);
  ASSERT_TRUE(addr.ok()) << addr.status();
  EXPECT_TRUE(PageAligned(*addr));
  absl::StatusOr<v1::FindVmaResponse> found =
      client_->FindVma(pid, *addr + kPageSize, v1::VMA_LOOKUP);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_vma());
  EXPECT_LE(found->vma().start(), *addr);
  EXPECT_EQ(found->vma().perms(), "rw-p");
  ASSERT_TRUE(client_->Munmap(pid, *addr, 8 * kPageSize).ok());
  found = client_->FindVma(pid, *addr + kPageSize, v1::VMA_LOOKUP);
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_vma());
}

TEST_F(MmServiceTest, MunmapOfAHoleSucceeds) {
  // Linux quirk kept visible: munmap(2) of unmapped memory is not an error.
  const int pid = NewProcess();
  const std::string before = Maps(pid);
  EXPECT_TRUE(client_->Munmap(pid, 0x10000000, kPageSize).ok());
  EXPECT_EQ(Maps(pid), before);
}

TEST_F(MmServiceTest, MmapOfAFile) {
  const int pid = NewProcess();
  ASSERT_TRUE(client_->CreateFile("/data/blob", 16 * kPageSize).ok());
  v1::MmapRequest req;
  req.set_pid(pid);
  req.set_len(4 * kPageSize);
  req.set_prot(kProtRead);
  req.set_flags(kMapPrivate);
  req.set_file("/data/blob");
  req.set_offset(2 * kPageSize);
  req.set_open_mode(v1::OPEN_MODE_READ);
  absl::StatusOr<uint64_t> addr = client_->Mmap(req);
  ASSERT_TRUE(addr.ok()) << addr.status();
  absl::StatusOr<v1::FindVmaResponse> found =
      client_->FindVma(pid, *addr, v1::VMA_LOOKUP);
  ASSERT_TRUE(found.ok() && found->has_vma());
  EXPECT_EQ(found->vma().file_name(), "/data/blob");
  EXPECT_EQ(found->vma().pgoff(), 2u);
  EXPECT_EQ(found->vma().perms(), "r--p");

  // mmap(2) of a descriptor opened write-only: EACCES.
  req.set_open_mode(v1::OPEN_MODE_WRITE);
  ExpectErrno(client_->Mmap(req).status(), absl::StatusCode::kPermissionDenied,
              EACCES);
  // No such file.
  req.set_file("/data/none");
  EXPECT_EQ(client_->Mmap(req).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(MmServiceTest, MprotectSplitsTheVma) {
  const int pid = NewProcess();
  absl::StatusOr<uint64_t> addr =
      client_->MmapAnon(pid, 0, 4 * kPageSize, kRw, kAnon);
  ASSERT_TRUE(addr.ok());
  ASSERT_TRUE(
      client_->Mprotect(pid, *addr + kPageSize, kPageSize, kProtRead).ok());
  absl::StatusOr<v1::FindVmaResponse> found =
      client_->FindVma(pid, *addr + kPageSize, v1::VMA_LOOKUP);
  ASSERT_TRUE(found.ok() && found->has_vma());
  EXPECT_EQ(found->vma().start(), *addr + kPageSize);
  EXPECT_EQ(found->vma().end(), *addr + 2 * kPageSize);
  EXPECT_EQ(found->vma().perms(), "r--p");
}

TEST_F(MmServiceTest, MremapGrowsOrMoves) {
  const int pid = NewProcess();
  absl::StatusOr<uint64_t> addr =
      client_->MmapAnon(pid, 0, 2 * kPageSize, kRw, kAnon);
  ASSERT_TRUE(addr.ok());
  absl::StatusOr<uint64_t> moved = client_->Mremap(
      pid, *addr, 2 * kPageSize, 64 * kPageSize, kMremapMaymove);
  ASSERT_TRUE(moved.ok()) << moved.status();
  absl::StatusOr<v1::FindVmaResponse> found =
      client_->FindVma(pid, *moved + 63 * kPageSize, v1::VMA_LOOKUP);
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->has_vma());
}

TEST_F(MmServiceTest, BrkQueriesAndMovesTheBreak) {
  const int pid = NewProcess();
  absl::StatusOr<uint64_t> brk = client_->Brk(pid, 0);
  ASSERT_TRUE(brk.ok());
  absl::StatusOr<v1::GetMmResponse> mm = client_->GetMm(pid);
  ASSERT_TRUE(mm.ok());
  EXPECT_EQ(*brk, mm->layout().brk());
  absl::StatusOr<uint64_t> grown = client_->Brk(pid, *brk + 16 * kPageSize);
  ASSERT_TRUE(grown.ok());
  EXPECT_EQ(*grown, *brk + 16 * kPageSize);
  mm = client_->GetMm(pid);
  ASSERT_TRUE(mm.ok());
  EXPECT_EQ(mm->layout().brk(), *grown);
}

TEST_F(MmServiceTest, MlockAndMunlockCountLockedVm) {
  const int pid = NewProcess();
  absl::StatusOr<uint64_t> addr =
      client_->MmapAnon(pid, 0, 4 * kPageSize, kRw, kAnon);
  ASSERT_TRUE(addr.ok());
  ASSERT_TRUE(client_->Mlock(pid, *addr, 4 * kPageSize).ok());
  EXPECT_EQ(client_->GetMm(pid)->locked_vm(), 4u);
  ASSERT_TRUE(client_->Munlock(pid, *addr, 4 * kPageSize).ok());
  EXPECT_EQ(client_->GetMm(pid)->locked_vm(), 0u);
  // mlock2(MLOCK_ONFAULT) sets VM_LOCKONFAULT too.
  ASSERT_TRUE(client_->Mlock(pid, *addr, kPageSize, kMlockOnfault).ok());
  absl::StatusOr<v1::FindVmaResponse> found =
      client_->FindVma(pid, *addr, v1::VMA_LOOKUP);
  ASSERT_TRUE(found.ok() && found->has_vma());
  EXPECT_EQ(found->vma().vm_flags() & kVmLockedMask, kVmLockedMask);
}

TEST_F(MmServiceTest, MlockallAndMunlockall) {
  const int pid = NewProcess();
  ASSERT_TRUE(client_->Mlockall(pid, kMclCurrent | kMclFuture).ok());
  absl::StatusOr<v1::GetMmResponse> mm = client_->GetMm(pid);
  ASSERT_TRUE(mm.ok());
  EXPECT_GT(mm->locked_vm(), 0u);
  EXPECT_NE(mm->def_flags() & kVmLocked, 0u);
  ASSERT_TRUE(client_->Munlockall(pid).ok());
  mm = client_->GetMm(pid);
  ASSERT_TRUE(mm.ok());
  EXPECT_EQ(mm->locked_vm(), 0u);
  EXPECT_EQ(mm->def_flags() & kVmLocked, 0u);
}

TEST_F(MmServiceTest, MadviseSetsVmaFlags) {
  const int pid = NewProcess();
  absl::StatusOr<uint64_t> addr =
      client_->MmapAnon(pid, 0, 2 * kPageSize, kRw, kAnon);
  ASSERT_TRUE(addr.ok());
  ASSERT_TRUE(client_->Madvise(pid, *addr, 2 * kPageSize, kMadvDontfork).ok());
  absl::StatusOr<v1::FindVmaResponse> found =
      client_->FindVma(pid, *addr, v1::VMA_LOOKUP);
  ASSERT_TRUE(found.ok() && found->has_vma());
  EXPECT_NE(found->vma().vm_flags() & kVmDontcopy, 0u);
  ExpectErrno(client_->Madvise(pid, *addr, kPageSize, 9999),
              absl::StatusCode::kInvalidArgument, EINVAL);
}

TEST_F(MmServiceTest, FindVmaModes) {
  const int pid = NewProcess();
  absl::StatusOr<std::vector<v1::VmaInfo>> vmas = client_->ListVmas(pid);
  ASSERT_TRUE(vmas.ok());
  ASSERT_GE(vmas->size(), 2u);
  const v1::VmaInfo& first = (*vmas)[0];
  const v1::VmaInfo& last = vmas->back();
  // find_vma of an address below everything returns the first region.
  absl::StatusOr<v1::FindVmaResponse> r = client_->FindVma(pid, 0x10000);
  ASSERT_TRUE(r.ok() && r->has_vma());
  EXPECT_EQ(r->vma().start(), first.start());
  // vma_lookup of the same address: nothing contains it.
  r = client_->FindVma(pid, 0x10000, v1::VMA_LOOKUP);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_vma());
  // find_vma_prev of the last region: its predecessor.
  r = client_->FindVma(pid, last.start(), v1::FIND_VMA_PREV);
  ASSERT_TRUE(r.ok() && r->has_vma() && r->has_prev());
  EXPECT_EQ(r->vma().start(), last.start());
  EXPECT_EQ(r->prev().end(), (*vmas)[vmas->size() - 2].end());
  // find_vma_intersection of [0, first.start) finds nothing; one more byte
  // finds the first region.
  r = client_->FindVma(pid, 0, v1::FIND_INTERSECTION, first.start());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_vma());
  r = client_->FindVma(pid, 0, v1::FIND_INTERSECTION, first.start() + 1);
  ASSERT_TRUE(r.ok() && r->has_vma());
  EXPECT_EQ(r->vma().start(), first.start());
}

TEST_F(MmServiceTest, GetUnmappedAreaMatchesTheNextMmap) {
  const int pid = NewProcess();
  v1::GetUnmappedAreaRequest req;
  req.set_pid(pid);
  req.set_len(4 * kPageSize);
  req.set_flags(kAnon);
  absl::StatusOr<uint64_t> area = client_->GetUnmappedArea(req);
  ASSERT_TRUE(area.ok()) << area.status();
  absl::StatusOr<uint64_t> addr =
      client_->MmapAnon(pid, 0, 4 * kPageSize, kRw, kAnon);
  ASSERT_TRUE(addr.ok());
  EXPECT_EQ(*area, *addr);
}

TEST_F(MmServiceTest, ImportsThisProcessFromProcSelfMaps) {
  std::ifstream in("/proc/self/maps");
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<client::ImportedProcess> imported =
      client::ParseProcMaps(text.str());
  ASSERT_TRUE(imported.ok()) << imported.status();
  for (const v1::CreateFileRequest& f : imported->files) {
    ASSERT_TRUE(client_->CreateFile(f.name(), f.size(), f.mode()).ok());
  }
  absl::StatusOr<int> pid = client_->CreateProcess(imported->request);
  ASSERT_TRUE(pid.ok()) << pid.status();
  // Every imported region is mapped with its permissions (adjacent
  // compatible regions may have merged).
  for (const v1::RegionSpec& region :
       imported->request.description().regions()) {
    absl::StatusOr<v1::FindVmaResponse> found =
        client_->FindVma(*pid, region.start(), v1::VMA_LOOKUP);
    ASSERT_TRUE(found.ok() && found->has_vma()) << region.DebugString();
    EXPECT_LE(found->vma().start(), region.start());
    EXPECT_GE(found->vma().end(), region.end());
    EXPECT_EQ(found->vma().perms(), region.perms());
    EXPECT_EQ(found->vma().file_name(), region.file_name());
  }
  EXPECT_THAT(Maps(*pid), HasSubstr("[stack]"));
}

TEST_F(MmServiceTest, ConcurrentClientsOnSharedAndOwnProcesses) {
  // 4 client threads x 50 rounds of mmap+munmap, each on its own process
  // and on one process they all share. Every call succeeds and every
  // address space ends as it began.
  const int shared = NewProcess();
  const std::string initial = Maps(shared);
  std::atomic<int> failures{0};
  std::vector<int> own(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t, shared, &own, &failures] {
      absl::StatusOr<int> pid = client_->CreateProcess();
      if (!pid.ok()) {
        ++failures;
        return;
      }
      own[t] = *pid;
      for (int i = 0; i < 50; ++i) {
        for (int target : {*pid, shared}) {
          absl::StatusOr<uint64_t> addr =
              client_->MmapAnon(target, 0, 2 * kPageSize, kRw, kAnon);
          if (!addr.ok() ||
              !client_->Munmap(target, *addr, 2 * kPageSize).ok()) {
            ++failures;
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(Maps(shared), initial);
  for (int pid : own) EXPECT_EQ(Maps(pid), initial);
}

// ------------------------------------------------------------ errors

TEST_F(MmServiceTest, MunmapUnalignedIsInvalidArgumentEinval) {
  const int pid = NewProcess();
  v1::MunmapRequest req;
  req.set_pid(pid);
  req.set_addr(0x1001);
  req.set_len(kPageSize);
  RawResult raw = Raw(&v1::MemoryManager::Stub::Munmap, req);
  EXPECT_EQ(raw.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(raw.errno_number, "22");
  EXPECT_EQ(raw.errno_name, "EINVAL");
  EXPECT_THAT(raw.message, HasSubstr("EINVAL"));
  // The client rebuilds the errno.
  ExpectErrno(client_->Munmap(pid, 0x1001, kPageSize),
              absl::StatusCode::kInvalidArgument, EINVAL);
}

TEST_F(MmServiceTest, UnknownPidIsNotFoundEsrch) {
  v1::GetMapsRequest req;
  req.set_pid(4242);
  RawResult raw = Raw(&v1::MemoryManager::Stub::GetMaps, req);
  EXPECT_EQ(raw.code, grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(raw.errno_number, "3");
  EXPECT_EQ(raw.errno_name, "ESRCH");
  ExpectErrno(client_->Munmap(4242, 0, kPageSize), absl::StatusCode::kNotFound,
              ESRCH);
}

TEST_F(MmServiceTest, FixedNoreplaceOverlapIsAlreadyExistsEexist) {
  const int pid = NewProcess();
  absl::StatusOr<uint64_t> addr =
      client_->MmapAnon(pid, 0, 4 * kPageSize, kRw, kAnon);
  ASSERT_TRUE(addr.ok());
  const std::string before = Maps(pid);
  v1::MmapRequest req;
  req.set_pid(pid);
  req.set_addr(*addr + kPageSize);
  req.set_len(kPageSize);
  req.set_prot(kProtRead);
  req.set_flags(kAnon | kMapFixedNoreplace);
  RawResult raw = Raw(&v1::MemoryManager::Stub::Mmap, req);
  EXPECT_EQ(raw.code, grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(raw.errno_name, "EEXIST");
  EXPECT_EQ(raw.errno_number, "17");
  EXPECT_EQ(Maps(pid), before);
}

TEST_F(MmServiceTest, MprotectOverAHoleIsResourceExhaustedEnomem) {
  // Linux quirk kept visible: mprotect(2) over unmapped memory is ENOMEM.
  const int pid = NewProcess();
  v1::MprotectRequest req;
  req.set_pid(pid);
  req.set_addr(0x10000000);
  req.set_len(kPageSize);
  req.set_prot(kProtRead);
  RawResult raw = Raw(&v1::MemoryManager::Stub::Mprotect, req);
  EXPECT_EQ(raw.code, grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(raw.errno_name, "ENOMEM");
  EXPECT_EQ(raw.errno_number, "12");
}

TEST_F(MmServiceTest, MmapWithoutFileOrAnonymousIsEbadf) {
  const int pid = NewProcess();
  v1::MmapRequest req;
  req.set_pid(pid);
  req.set_len(kPageSize);
  req.set_prot(kProtRead);
  req.set_flags(kMapPrivate);
  absl::StatusOr<uint64_t> addr = client_->Mmap(req);
  EXPECT_EQ(LinuxErrno(addr.status()), EBADF) << addr.status();
}

TEST(GrpcStatusTest, MessageIsCutAtOneKibAndCodeKept) {
  grpc::Status s =
      ToGrpcStatus(LinuxError(ENOMEM, std::string(5000, 'x')), /*ctx=*/nullptr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(s.error_message().size(), kMaxMessageBytes);
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus(), nullptr).ok());
}

TEST(GrpcStatusTest, EveryAbslCodeKeepsItsNumber) {
  for (int code = 1; code <= 16; ++code) {
    grpc::Status s = ToGrpcStatus(
        absl::Status(static_cast<absl::StatusCode>(code), "m"), nullptr);
    EXPECT_EQ(static_cast<int>(s.error_code()), code);
  }
}

// ------------------------------------------------------------ malformed

TEST_F(MmServiceTest, MalformedRequestsAreRejectedAndChangeNothing) {
  const int pid = NewProcess();
  const std::string before = Maps(pid);
  auto expect_malformed = [](const RawResult& raw) {
    EXPECT_EQ(raw.code, grpc::StatusCode::INVALID_ARGUMENT) << raw.message;
    EXPECT_EQ(raw.errno_name, "EINVAL");
    EXPECT_THAT(raw.message, HasSubstr("malformed request"));
  };

  v1::MmapRequest mmap;  // pid missing
  mmap.set_len(kPageSize);
  mmap.set_prot(kProtRead);
  mmap.set_flags(kAnon);
  expect_malformed(Raw(&v1::MemoryManager::Stub::Mmap, mmap));
  mmap.set_pid(pid);  // unknown enum value
  mmap.set_open_mode(static_cast<v1::OpenMode>(42));
  expect_malformed(Raw(&v1::MemoryManager::Stub::Mmap, mmap));

  v1::FindVmaRequest find;
  find.set_pid(pid);
  find.set_mode(static_cast<v1::FindMode>(99));
  expect_malformed(Raw(&v1::MemoryManager::Stub::FindVma, find));

  v1::SetRlimitRequest rlimit;
  rlimit.set_pid(pid);
  rlimit.mutable_limit()->set_cur(1);
  rlimit.mutable_limit()->set_max(1);  // resource unspecified
  expect_malformed(Raw(&v1::MemoryManager::Stub::SetRlimit, rlimit));
  rlimit.set_resource(v1::RLIMIT_RESOURCE_AS);
  rlimit.clear_limit();
  expect_malformed(Raw(&v1::MemoryManager::Stub::SetRlimit, rlimit));

  v1::CreateProcessRequest create;  // neither exec nor description
  expect_malformed(Raw(&v1::MemoryManager::Stub::CreateProcess, create));
  create.mutable_description()->add_regions()->set_perms("rwz?");
  expect_malformed(Raw(&v1::MemoryManager::Stub::CreateProcess, create));
  create.mutable_exec();
  create.mutable_config()->set_max_map_count(-1);
  expect_malformed(Raw(&v1::MemoryManager::Stub::CreateProcess, create));

  v1::RemoveProcessRequest rm;  // pid 0
  expect_malformed(Raw(&v1::MemoryManager::Stub::RemoveProcess, rm));

  EXPECT_EQ(Maps(pid), before);
  absl::StatusOr<std::vector<v1::ProcessSummary>> ps = client_->ListProcesses();
  ASSERT_TRUE(ps.ok());
  EXPECT_THAT(*ps, SizeIs(1));
}

// ------------------------------------------------------------ tasks and pages

constexpr int kCloneVm = 0x100;
constexpr int kCloneThread = 0x10000;

// The descriptor `mm_id` in ListMms, or nullopt when it is gone.
std::optional<v1::MmInfo> FindMm(client::MmClient& client, uint64_t mm_id) {
  absl::StatusOr<std::vector<v1::MmInfo>> mms = client.ListMms();
  EXPECT_TRUE(mms.ok()) << mms.status();
  for (const v1::MmInfo& mm : mms.value_or(std::vector<v1::MmInfo>())) {
    if (mm.mm_id() == mm_id) return mm;
  }
  return std::nullopt;
}

uint64_t MmIdOf(client::MmClient& client, int pid) {
  absl::StatusOr<v1::GetMmResponse> mm = client.GetMm(pid);
  EXPECT_TRUE(mm.ok()) << mm.status();
  return mm.ok() ? mm->mm_id() : 0;
}

TEST_F(MmServiceTest, SeedExampleLazyTlbKeepsTheDescriptorAfterExit) {
  // Two tasks share one mm through CLONE_VM: mm_users 2, mm_count 1.
  const int p = NewProcess();
  absl::StatusOr<int> t = client_->Clone(p, kCloneVm);
  ASSERT_TRUE(t.ok()) << t.status();
  const uint64_t id = MmIdOf(*client_, p);
  EXPECT_EQ(MmIdOf(*client_, *t), id);
  std::optional<v1::MmInfo> mm = FindMm(*client_, id);
  ASSERT_TRUE(mm.has_value());
  EXPECT_EQ(mm->mm_users(), 2);
  EXPECT_EQ(mm->mm_count(), 1);
  EXPECT_TRUE(mm->on_mmlist());
  EXPECT_THAT(mm->pids(), ::testing::UnorderedElementsAre(p, *t));

  // A kernel thread scheduled after p on CPU 0 borrows p's mm: mm_count 2.
  absl::StatusOr<int> k = client_->CreateKernelThread("kswapd0");
  ASSERT_TRUE(k.ok()) << k.status();
  ASSERT_TRUE(client_->Schedule(0, p).ok());
  ASSERT_TRUE(client_->Schedule(0, *k).ok());
  mm = FindMm(*client_, id);
  ASSERT_TRUE(mm.has_value());
  EXPECT_EQ(mm->mm_users(), 2);
  EXPECT_EQ(mm->mm_count(), 2);
  absl::StatusOr<std::vector<v1::CpuInfo>> cpus = client_->ListCpus();
  ASSERT_TRUE(cpus.ok());
  ASSERT_THAT(*cpus, SizeIs(2));
  EXPECT_EQ((*cpus)[0].curr_pid(), *k);
  EXPECT_EQ((*cpus)[0].active_mm_id(), id);

  // Both exit: no users, regions released, the descriptor still listed.
  ASSERT_TRUE(client_->Exit(p).ok());
  ASSERT_TRUE(client_->Exit(*t).ok());
  mm = FindMm(*client_, id);
  ASSERT_TRUE(mm.has_value());
  EXPECT_EQ(mm->mm_users(), 0);
  EXPECT_EQ(mm->mm_count(), 1);
  EXPECT_FALSE(mm->on_mmlist());
  EXPECT_EQ(mm->map_count(), 0);
  EXPECT_EQ(mm->total_vm(), 0u);
  EXPECT_EQ(mm->pages().rss_anon() + mm->pages().rss_file(), 0u);
  EXPECT_THAT(mm->pids(), ::testing::IsEmpty());

  // A new process on CPU 0 switches the kernel thread out: mmdrop frees it.
  const int q = NewProcess();
  ASSERT_TRUE(client_->Schedule(0, q).ok());
  EXPECT_FALSE(FindMm(*client_, id).has_value());
}

TEST_F(MmServiceTest, ForkThenChildWriteIsCopyOnWrite) {
  const int parent = NewProcess();
  absl::StatusOr<v1::GetMmResponse> mm = client_->GetMm(parent);
  ASSERT_TRUE(mm.ok());
  const uint64_t heap = mm->layout().start_brk();
  absl::StatusOr<v1::TouchResponse> first =
      client_->Touch(parent, heap, v1::FAULT_ACCESS_WRITE);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->kind(), v1::FAULT_KIND_MINOR);
  EXPECT_EQ(first->source(), v1::FAULT_SOURCE_ANON_PAGE);

  absl::StatusOr<int> child = client_->Fork(parent);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_NE(MmIdOf(*client_, *child), MmIdOf(*client_, parent));
  absl::StatusOr<v1::TouchResponse> cow =
      client_->Touch(*child, heap, v1::FAULT_ACCESS_WRITE);
  ASSERT_TRUE(cow.ok()) << cow.status();
  EXPECT_EQ(cow->kind(), v1::FAULT_KIND_MINOR);
  EXPECT_EQ(cow->source(), v1::FAULT_SOURCE_COPY_ON_WRITE);

  absl::StatusOr<v1::GetMmResponse> c = client_->GetMm(*child);
  absl::StatusOr<v1::GetMmResponse> p = client_->GetMm(parent);
  ASSERT_TRUE(c.ok() && p.ok());
  EXPECT_EQ(c->pages().cow_faults(), 1u);
  EXPECT_EQ(c->pages().rss_anon(), 1u);
  EXPECT_EQ(p->pages().rss_anon(), 1u);
  EXPECT_EQ(p->pages().cow_faults(), 0u);
  EXPECT_GE(p->pages().min_flt(), 1u);
  EXPECT_GE(c->pages().hiwater_rss(), 1u);
  EXPECT_GT(c->pages().pgtable_pages(), 0u);
  // The page is now the child's own: a second write does not fault.
  absl::StatusOr<v1::TouchResponse> again =
      client_->Touch(*child, heap, v1::FAULT_ACCESS_WRITE);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->kind(), v1::FAULT_KIND_NONE);
}

TEST_F(MmServiceTest, TouchOfAHoleIsSigsegvMaperr) {
  const int pid = NewProcess();
  absl::StatusOr<v1::TouchResponse> r =
      client_->Touch(pid, 0x10000, v1::FAULT_ACCESS_READ);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->kind(), v1::FAULT_KIND_SIGSEGV);
  EXPECT_EQ(r->si_code(), 1);  // SEGV_MAPERR
  absl::StatusOr<v1::GetMmResponse> mm = client_->GetMm(pid);
  ASSERT_TRUE(mm.ok());
  EXPECT_EQ(mm->pages().segv_maperr(), 1u);
}

TEST_F(MmServiceTest, CloneThreadExecAndListTasks) {
  const int p = NewProcess();
  absl::StatusOr<int> t = client_->Clone(p, kCloneVm | kCloneThread);
  ASSERT_TRUE(t.ok()) << t.status();
  absl::StatusOr<int> k = client_->CreateKernelThread("kworker/0:1");
  ASSERT_TRUE(k.ok());
  absl::StatusOr<std::vector<v1::TaskInfo>> tasks = client_->ListTasks();
  ASSERT_TRUE(tasks.ok());
  std::optional<v1::TaskInfo> thread, kthread;
  for (const v1::TaskInfo& task : *tasks) {
    if (task.pid() == *t) thread = task;
    if (task.pid() == *k) kthread = task;
  }
  ASSERT_TRUE(thread.has_value() && kthread.has_value());
  EXPECT_EQ(thread->tgid(), p);
  EXPECT_EQ(thread->kind(), v1::TASK_KIND_LWP);
  EXPECT_EQ(thread->cpu(), -1);
  EXPECT_EQ(kthread->kind(), v1::TASK_KIND_KERNEL_THREAD);
  EXPECT_EQ(kthread->comm(), "kworker/0:1");
  EXPECT_EQ(kthread->mm_id(), 0u);

  // exec replaces the mm and ends the other threads of the group.
  const uint64_t old_id = MmIdOf(*client_, p);
  v1::ExecImage image;
  image.set_exe_name("/bin/true");
  absl::StatusOr<int> after = client_->Exec(p, image);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, p);
  EXPECT_NE(MmIdOf(*client_, p), old_id);
  EXPECT_THAT(Maps(p), HasSubstr("/bin/true"));
  ExpectErrno(client_->GetMm(*t).status(), absl::StatusCode::kNotFound, ESRCH);
  absl::StatusOr<v1::GetSystemStatsResponse> stats = client_->GetSystemStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->execs(), 1u);
  EXPECT_EQ(stats->clones(), 1u);
  EXPECT_EQ(stats->kernel_threads(), 1);
  EXPECT_EQ(stats->processes(), 1);
}

TEST_F(MmServiceTest, MincoreShowsTouchedPages) {
  const int pid = NewProcess();
  absl::StatusOr<uint64_t> addr =
      client_->MmapAnon(pid, 0, 4 * kPageSize, kRw, kAnon);
  ASSERT_TRUE(addr.ok());
  ASSERT_TRUE(
      client_->Touch(pid, *addr + kPageSize, v1::FAULT_ACCESS_WRITE).ok());
  absl::StatusOr<std::string> vec = client_->Mincore(pid, *addr, 4 * kPageSize);
  ASSERT_TRUE(vec.ok()) << vec.status();
  EXPECT_EQ(*vec, std::string("\0\1\0\0", 4));
  ExpectErrno(client_->Mincore(pid, *addr + 1, kPageSize).status(),
              absl::StatusCode::kInvalidArgument, EINVAL);
}

TEST_F(MmServiceTest, VmallocIsSyncedByAKernelModeTouch) {
  absl::StatusOr<uint64_t> addr = client_->Vmalloc(4);
  ASSERT_TRUE(addr.ok()) << addr.status();
  const int pid = NewProcess();
  absl::StatusOr<v1::TouchResponse> r =
      client_->Touch(pid, *addr, v1::FAULT_ACCESS_READ, /*kernel_mode=*/true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->vmalloc_synced());
  absl::StatusOr<v1::GetSystemStatsResponse> stats = client_->GetSystemStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->vmalloc_pages(), 4u);
  ASSERT_TRUE(client_->Vfree(*addr).ok());
  ExpectErrno(client_->Vfree(*addr), absl::StatusCode::kInvalidArgument,
              EINVAL);
  ExpectErrno(client_->Vmalloc(0).status(), absl::StatusCode::kInvalidArgument,
              EINVAL);
}

TEST_F(MmServiceTest, ReclaimSwapsOutAnonymousPages) {
  const int pid = NewProcess();
  absl::StatusOr<uint64_t> addr =
      client_->MmapAnon(pid, 0, 8 * kPageSize, kRw, kAnon);
  ASSERT_TRUE(addr.ok());
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(
        client_->Touch(pid, *addr + i * kPageSize, v1::FAULT_ACCESS_WRITE)
            .ok());
  }
  uint64_t freed = 0;
  for (int round = 0; round < 4 && freed == 0; ++round) {
    absl::StatusOr<uint64_t> r = client_->Reclaim(64);
    ASSERT_TRUE(r.ok()) << r.status();
    freed += *r;
  }
  EXPECT_GT(freed, 0u);
  absl::StatusOr<v1::GetMmResponse> mm = client_->GetMm(pid);
  ASSERT_TRUE(mm.ok());
  EXPECT_GT(mm->pages().rss_swap(), 0u);
  absl::StatusOr<v1::GetSystemStatsResponse> stats = client_->GetSystemStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GE(stats->reclaim_runs(), 1u);
  EXPECT_GT(stats->phys().swap_outs(), 0u);
  EXPECT_EQ(stats->phys().frames_total(), uint64_t{1} << 20);
}

TEST_F(MmServiceTest, SmapsAndStatusTexts) {
  const int pid = NewProcess();
  absl::StatusOr<v1::GetMmResponse> mm = client_->GetMm(pid);
  ASSERT_TRUE(mm.ok());
  ASSERT_TRUE(
      client_->Touch(pid, mm->layout().start_brk(), v1::FAULT_ACCESS_WRITE)
          .ok());
  absl::StatusOr<v1::GetSmapsResponse> smaps = client_->GetSmaps(pid);
  ASSERT_TRUE(smaps.ok()) << smaps.status();
  EXPECT_THAT(smaps->text(), HasSubstr("Rss:"));
  EXPECT_THAT(smaps->text(), HasSubstr("[heap]"));
  ASSERT_EQ(smaps->regions_size(), mm->map_count());
  uint64_t rss = 0;
  for (const v1::SmapsRegion& r : smaps->regions()) rss += r.counts().rss();
  EXPECT_EQ(rss, kPageSize);
  absl::StatusOr<std::string> status = client_->GetStatus(pid);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_THAT(*status, HasSubstr("VmRSS:"));
  EXPECT_THAT(*status, HasSubstr("Pid:"));
}

TEST_F(MmServiceTest, ListMmsStartsWithInitMm) {
  NewProcess();
  absl::StatusOr<std::vector<v1::MmInfo>> mms = client_->ListMms();
  ASSERT_TRUE(mms.ok());
  ASSERT_THAT(*mms, SizeIs(2));
  EXPECT_TRUE((*mms)[0].is_init_mm());
  EXPECT_TRUE((*mms)[1].on_mmlist());
  EXPECT_EQ((*mms)[1].mm_users(), 1);
}

TEST_F(MmServiceTest, ScheduleErrors) {
  const int pid = NewProcess();
  ExpectErrno(client_->Schedule(99, pid), absl::StatusCode::kInvalidArgument,
              EINVAL);
  ExpectErrno(client_->Schedule(-1, pid), absl::StatusCode::kInvalidArgument,
              EINVAL);
  ExpectErrno(client_->Schedule(0, 4242), absl::StatusCode::kNotFound, ESRCH);
  ASSERT_TRUE(client_->Schedule(0, pid).ok());
  ExpectErrno(client_->Schedule(1, pid), absl::StatusCode::kFailedPrecondition,
              EBUSY);
  EXPECT_TRUE(client_->Schedule(0, 0).ok());  // back to idle
}

TEST_F(MmServiceTest, TaskCallsOnAnUnknownPidAreEsrch) {
  constexpr int kNoSuchPid = 4242;
  const absl::StatusCode kNotFound = absl::StatusCode::kNotFound;
  ExpectErrno(client_->Clone(kNoSuchPid, kCloneVm).status(), kNotFound, ESRCH);
  ExpectErrno(client_->Fork(kNoSuchPid).status(), kNotFound, ESRCH);
  ExpectErrno(client_->Exec(kNoSuchPid).status(), kNotFound, ESRCH);
  ExpectErrno(client_->Exit(kNoSuchPid), kNotFound, ESRCH);
  ExpectErrno(
      client_->Touch(kNoSuchPid, 0x1000, v1::FAULT_ACCESS_READ).status(),
      kNotFound, ESRCH);
  ExpectErrno(client_->Mincore(kNoSuchPid, 0, kPageSize).status(), kNotFound,
              ESRCH);
  ExpectErrno(client_->GetSmaps(kNoSuchPid).status(), kNotFound, ESRCH);
  ExpectErrno(client_->GetStatus(kNoSuchPid).status(), kNotFound, ESRCH);
  // CLONE_THREAD without CLONE_VM is clone(2)'s EINVAL.
  ExpectErrno(client_->Clone(NewProcess(), kCloneThread).status(),
              absl::StatusCode::kInvalidArgument, EINVAL);
}

TEST_F(MmServiceTest, MalformedTaskAndPageRequests) {
  const int pid = NewProcess();
  auto expect_malformed = [](const RawResult& raw) {
    EXPECT_EQ(raw.code, grpc::StatusCode::INVALID_ARGUMENT) << raw.message;
    EXPECT_EQ(raw.errno_name, "EINVAL");
    EXPECT_THAT(raw.message, HasSubstr("malformed request"));
  };
  using Stub = v1::MemoryManager::Stub;
  expect_malformed(Raw(&Stub::Clone, v1::CloneRequest()));
  expect_malformed(Raw(&Stub::Fork, v1::ForkRequest()));
  expect_malformed(Raw(&Stub::Exit, v1::ExitRequest()));
  expect_malformed(Raw(&Stub::GetStatus, v1::GetStatusRequest()));
  expect_malformed(Raw(&Stub::GetSmaps, v1::GetSmapsRequest()));
  expect_malformed(Raw(&Stub::Mincore, v1::MincoreRequest()));
  expect_malformed(
      Raw(&Stub::CreateKernelThread, v1::CreateKernelThreadRequest()));
  expect_malformed(Raw(&Stub::Reclaim, v1::ReclaimRequest()));
  v1::ExecRequest exec;  // image missing
  exec.set_pid(pid);
  expect_malformed(Raw(&Stub::Exec, exec));
  v1::ScheduleRequest schedule;
  schedule.set_pid(-1);
  expect_malformed(Raw(&Stub::Schedule, schedule));
  v1::TouchRequest touch;  // access unspecified
  touch.set_pid(pid);
  expect_malformed(Raw(&Stub::Touch, touch));
  touch.set_access(static_cast<v1::FaultAccess>(42));
  expect_malformed(Raw(&Stub::Touch, touch));
  touch.set_access(v1::FAULT_ACCESS_READ);
  touch.set_pid(0);
  expect_malformed(Raw(&Stub::Touch, touch));

  absl::StatusOr<std::vector<v1::TaskInfo>> tasks = client_->ListTasks();
  ASSERT_TRUE(tasks.ok());
  // Nothing was created: the process and one idle task per CPU.
  ASSERT_THAT(*tasks, SizeIs(3));
  EXPECT_EQ((*tasks)[0].kind(), v1::TASK_KIND_IDLE);
  EXPECT_EQ((*tasks)[0].comm(), "swapper/0");
}

TEST_F(MmServiceTest, MaxTasksIsEagain) {
  SystemConfig config;
  config.max_tasks = 2;
  MmRegistry registry(config);
  MmServiceImpl service(&registry);
  absl::StatusOr<StartedServer> started =
      StartGrpcServer("127.0.0.1:0", &service, &rpc_metrics_);
  ASSERT_TRUE(started.ok()) << started.status();
  client::MmClient client(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", started->port),
                          grpc::InsecureChannelCredentials()),
      std::chrono::seconds(20));
  absl::StatusOr<int> pid = client.CreateProcess();
  ASSERT_TRUE(pid.ok());
  ASSERT_TRUE(client.Fork(*pid).ok());
  ExpectErrno(client.Fork(*pid).status(), absl::StatusCode::kUnavailable,
              EAGAIN);
  ExpectErrno(client.CreateKernelThread("k").status(),
              absl::StatusCode::kUnavailable, EAGAIN);
  started->server->Shutdown(std::chrono::system_clock::now() +
                            std::chrono::seconds(5));
}

// ------------------------------------------------------------ wiring

TEST_F(MmServiceTest, HealthCheckIsServing) {
  auto stub = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  grpc::Status status = stub->Check(&ctx, req, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(MmServiceTest, RpcsAreCountedByMethodAndCode) {
  const int pid = NewProcess();
  ASSERT_FALSE(client_->Munmap(pid, 0x1001, kPageSize).ok());
  ASSERT_FALSE(client_->Munmap(pid, 0x1001, kPageSize).ok());
  const std::string text = Metrics();
  EXPECT_THAT(text, HasSubstr("mmsim_rpcs_total{code=\"INVALID_ARGUMENT\","
                              "method=\"Munmap\"} 2"));
  EXPECT_THAT(
      text,
      HasSubstr("mmsim_rpcs_total{code=\"OK\",method=\"CreateProcess\"} 1"));
}

TEST_F(MmServiceTest, ShutdownGracefullyDoesNotWaitForIdleClients) {
  NewProcess();  // the client now holds an idle connection
  const auto start = std::chrono::steady_clock::now();
  ShutdownGracefully(
      server_.get(), rpc_metrics_,
      std::chrono::system_clock::now() + std::chrono::seconds(60));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  // The server is down: calls fail with UNAVAILABLE, no errno.
  absl::StatusOr<int> pid = client_->CreateProcess();
  EXPECT_EQ(pid.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(LinuxErrno(pid.status()), std::nullopt);
}

// The collector itself: tests/server/metrics_test.cc.

// GetLockStats reports core's lock statistics: a region change takes
// mmap_sem for writing, a fault for reading.
TEST_F(MmServiceTest, GetLockStatsCountsTheLocksCallsTake) {
  const int pid = NewProcess();
  auto acquisitions = [&](const std::string& lock, const std::string& mode) {
    absl::StatusOr<v1::GetLockStatsResponse> stats = client_->GetLockStats();
    EXPECT_TRUE(stats.ok()) << stats.status();
    if (!stats.ok()) return uint64_t{0};
    for (const v1::LockStat& l : stats->locks()) {
      if (l.lock() == lock && l.mode() == mode) return l.acquisitions();
    }
    ADD_FAILURE() << lock << " " << mode << " missing";
    return uint64_t{0};
  };
  const uint64_t writes = acquisitions("mmap_sem", "write");
  const uint64_t reads = acquisitions("mmap_sem", "read");
  v1::MmapRequest req;
  req.set_pid(pid);
  req.set_len(4 * kPageSize);
  req.set_prot(kProtRead | kProtWrite);
  req.set_flags(kMapPrivate | kMapAnonymous);
  absl::StatusOr<uint64_t> addr = client_->Mmap(req);
  ASSERT_TRUE(addr.ok()) << addr.status();
  EXPECT_GE(acquisitions("mmap_sem", "write"), writes + 1);
  ASSERT_TRUE(client_->Touch(pid, *addr, v1::FAULT_ACCESS_WRITE).ok());
  EXPECT_GE(acquisitions("mmap_sem", "read"), reads + 1);

  absl::StatusOr<v1::GetLockStatsResponse> stats = client_->GetLockStats();
  ASSERT_TRUE(stats.ok());
  ASSERT_EQ(stats->locks_size(), 12);
  EXPECT_EQ(stats->bucket_upper_bounds_seconds_size(), 13);
  for (const v1::LockStat& l : stats->locks()) {
    EXPECT_EQ(l.wait_buckets_size(), 14) << l.lock();
    EXPECT_EQ(l.hold_buckets_size(), 14) << l.lock();
    uint64_t waits = 0;
    for (uint64_t count : l.wait_buckets()) waits += count;
    EXPECT_EQ(waits, l.contended()) << l.lock();
  }
}

}  // namespace
}  // namespace mmsim::server
