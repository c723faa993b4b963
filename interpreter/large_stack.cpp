#include "interpreter/large_stack.h"

#include <pthread.h>

#include <cstddef>

namespace perturb::lang {
namespace {

constexpr size_t kScriptStackBytes = size_t{1} << 29;

struct ThreadCall {
  std::function<int()> body;
  int status = 0;
};

void* run_call(void* arg) {
  auto* call = static_cast<ThreadCall*>(arg);
  call->status = call->body();
  return nullptr;
}

}  // namespace

int run_on_large_stack(std::function<int()> body) {
  ThreadCall call{std::move(body)};
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setstacksize(&attributes, kScriptStackBytes);
  pthread_t thread;
  const bool started = pthread_create(&thread, &attributes, run_call, &call) == 0;
  pthread_attr_destroy(&attributes);
  if (!started) return call.body();
  pthread_join(thread, nullptr);
  return call.status;
}

}  // namespace perturb::lang
