// Conversions between mmsim.v1 messages and core types. Validation of a
// request's shape (required fields, enum values) lives here too, so handlers
// stay one core call long.
#ifndef MMSIM_SERVER_PROTO_CONVERT_H_
#define MMSIM_SERVER_PROTO_CONVERT_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/lock_stats.h"
#include "core/mm_registry.h"
#include "core/mm_struct.h"
#include "core/vma.h"
#include "mmsim/v1/mmsim.pb.h"

namespace mmsim::server {

// --- core -> proto ---
void VmaToProto(const Vma& vma, v1::VmaInfo* out);
void FileToProto(const SimFile& file, v1::FileInfo* out);
void RlimitsToProto(const Rlimits& rlimits, v1::Rlimits* out);
// Fills GetMm's response from one mm: counters, config, page stats.
void MmToProto(int pid, const MmStruct& mm, v1::GetMmResponse* out);
void PageStatsToProto(const MmPageStats& pages, v1::PageStats* out);
void TouchResultToProto(const TouchResult& result, v1::TouchResponse* out);
void SmapsToProto(const VmaSmaps& smaps, v1::SmapsRegion* out);
void TaskToProto(const TaskInfo& task, v1::TaskInfo* out);
void MmInfoToProto(const MmInfo& mm, v1::MmInfo* out);
void CpuToProto(const CpuInfo& cpu, v1::CpuInfo* out);
void StatsToProto(const SystemStats& stats, const std::vector<OomEvent>& ooms,
                  v1::GetSystemStatsResponse* out);
void LockStatToProto(const LockStat& in, v1::LockStat* out);

// --- proto -> core ---

// Errors: EINVAL (malformed) unless pid > 0 (0 is an unset field).
absl::Status ValidatePid(int pid);
// Errors: EINVAL (malformed) for FAULT_ACCESS_UNSPECIFIED or an unknown
// value.
absl::StatusOr<FaultAccess> FaultAccessFromProto(v1::FaultAccess access);

// Returns `defaults` overridden by the fields set in `config`.
// Errors: EINVAL for max_map_count <= 0 or an rlimit with cur > max.
absl::StatusOr<MmConfig> MmConfigFromProto(const MmConfig& defaults,
                                           const v1::MmConfig& config);
ExecImage ExecImageFromProto(const v1::ExecImage& image);
// Builds a process description; file regions name files that must exist
// in `registry`. Errors: EINVAL (bad perms string), ENOENT (no such file).
absl::StatusOr<ProcessDescription> DescriptionFromProto(
    const v1::ProcessDescription& desc, const MmConfig& config,
    const MmRegistry& registry);
// Returns the VM_* bits of a "rwxp"-style string (3 or 4 characters).
// Errors: EINVAL.
absl::StatusOr<uint64_t> VmFlagsFromPerms(absl::string_view perms);
// Builds mmap(2)'s arguments; opens the named file with the request's mode
// unless MAP_ANONYMOUS. Errors: EINVAL (unknown open mode), ENOENT,
// EACCES (mode bits of the file forbid the open).
absl::StatusOr<MmapArgs> MmapArgsFromProto(const v1::MmapRequest& req,
                                           const MmRegistry& registry);
// Errors: EINVAL for RLIMIT_RESOURCE_UNSPECIFIED or an unknown value.
absl::StatusOr<RlimitResource> RlimitResourceFromProto(
    v1::RlimitResource resource);
Rlimit RlimitOf(const Rlimits& rlimits, RlimitResource resource);

}  // namespace mmsim::server

#endif  // MMSIM_SERVER_PROTO_CONVERT_H_
