// Worker threads carry the name of their work, for top -H and /proc.
#pragma once

#include <utility>

#include <pthread.h>

namespace dagminer {

// Names the calling thread once; pool threads call it at the start of every task.
inline void name_thread(const char* name) {
  thread_local bool named = false;
  if (!std::exchange(named, true)) pthread_setname_np(pthread_self(), name);
}

}  // namespace dagminer
