// Child processes for the end-to-end tests: spawn a binary with its
// output in files, wait with a bound, stop it by pid, pick a free port.
#ifndef MMSIM_TESTS_E2E_CHILD_PROCESS_H_
#define MMSIM_TESTS_E2E_CHILD_PROCESS_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace mmsim::e2e {

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Waits for `pid` for at most `timeout`; returns its wait status, or
// nullopt if it is still running.
inline std::optional<int> WaitFor(pid_t pid,
                                  std::chrono::milliseconds timeout) {
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

// Forks and execs `argv` with stdin from `in` and stdout / stderr to the
// given files. Only async-signal-safe calls happen between fork and exec.
inline pid_t Spawn(const std::vector<std::string>& argv, const std::string& out,
                   const std::string& err,
                   const std::string& in = "/dev/null") {
  std::vector<char*> args;
  for (const std::string& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int in_fd = open(in.c_str(), O_RDONLY);
    if (out_fd < 0 || err_fd < 0 || in_fd < 0) _exit(127);
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// Sends `sig` to `pid`; after `timeout` SIGKILL. Returns the wait status
// (nullopt if it had to be killed).
inline std::optional<int> Stop(pid_t pid, int sig,
                               std::chrono::milliseconds timeout) {
  kill(pid, sig);
  std::optional<int> status = WaitFor(pid, timeout);
  if (!status.has_value()) {
    kill(pid, SIGKILL);
    WaitFor(pid, timeout);
  }
  return status;
}

// A loopback TCP port that was free a moment ago (bind to 0, read it back,
// close). Another process may take it before it is used; rare enough.
inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

}  // namespace mmsim::e2e

#endif  // MMSIM_TESTS_E2E_CHILD_PROCESS_H_
