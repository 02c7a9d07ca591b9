// Bearer-token authentication of gRPC calls: a call is let through when its
// metadata carries "authorization: Bearer <token>" with the server's token.
// Checked at the top of each MemoryManager handler rather than by a
// grpc::AuthMetadataProcessor, because gRPC only runs a processor for
// secure credentials (InsecureServerCredentials aborts on
// SetAuthMetadataProcessor), and a server interceptor cannot fail a call in
// gRPC 1.51. The health and reflection services stay open.
#ifndef MMSIM_SERVER_TOKEN_AUTH_H_
#define MMSIM_SERVER_TOKEN_AUTH_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"

namespace mmsim::server {

// Immutable after construction, so thread-safe.
class TokenAuth {
 public:
  // `token` must not be empty.
  explicit TokenAuth(std::string token);

  // Returns OK if `ctx` carries "authorization: Bearer <token>" (the scheme
  // name in any case), else UNAUTHENTICATED. The token is compared in time
  // that does not depend on where the presented one differs.
  grpc::Status Check(const grpc::ServerContext& ctx) const;

 private:
  const std::string token_;
};

// Returns the contents of `path` without surrounding whitespace. Errors:
// NOT_FOUND if it cannot be read, INVALID_ARGUMENT if it is empty.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// Compares `presented` with `expected` in time that depends only on
// expected.size(): every byte of `expected` is looked at.
bool ConstantTimeEquals(absl::string_view presented,
                        absl::string_view expected);

}  // namespace mmsim::server

#endif  // MMSIM_SERVER_TOKEN_AUTH_H_
