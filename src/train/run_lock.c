/* The run folder's lock: one writer at a time. An advisory flock on "<run>/run.lock", held from the
 * first thing a writer does in the folder until it returns, refuses a second writer at once; the
 * file holds the holder's PID and host so that the refusal can name them. The kernel drops a flock
 * when its holder dies, so a lock left by a killed run is free (a stale file is simply taken
 * over), and the file is never removed: removing it would let two writers lock two different
 * files of one name. Readers (eval, predict) take no lock. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "train/train_internal.h"

/* What the lock file says about its last holder: "pid <n>\nhost <name>\n". */
static void read_holder(int fd, long *pid, char *host, size_t host_size) {
  char buf[512];
  *pid = 0;
  host[0] = '\0';
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return;
  buf[n] = '\0';
  const char *p = strstr(buf, "pid ");
  if (p) *pid = strtol(p + 4, NULL, 10);
  const char *h = strstr(buf, "host ");
  if (h) {
    h += 5;
    size_t len = strcspn(h, "\n");
    if (len >= host_size) len = host_size - 1;
    memcpy(host, h, len);
    host[len] = '\0';
  }
}

porta_status porta_run_lock(porta_run_lock_info *out, const char *run_dir, char *err,
                            size_t err_size) {
  memset(out, 0, sizeof *out);
  out->fd = -1;
  char path[4200];
  porta_pathf(path, sizeof path, "%s/run.lock", run_dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return porta_train_fail(err, err_size, PORTA_ERR_IO, "cannot open the lock %s: %s", path,
                            strerror(errno));
  char host[256];
  long pid;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    read_holder(fd, &pid, host, sizeof host);
    close(fd);
    if (e != EWOULDBLOCK)
      return porta_train_fail(err, err_size, PORTA_ERR_IO, "cannot lock %s: %s", path, strerror(e));
    char who[400] = "another process";
    if (pid > 0)
      snprintf(who, sizeof who, "PID %ld%s%s", pid, host[0] ? " on " : "", host[0] ? host : "");
    return porta_train_fail(err, err_size, PORTA_ERR_STATE,
                            "the run folder %s is in use by %s (a porta train writing into it): "
                            "wait until it ends, or choose another --out",
                            run_dir, who);
  }
  // ours: note whom we take it over from (a killed run), then write our own PID
  read_holder(fd, &pid, host, sizeof host);
  char me[256] = "";
  gethostname(me, sizeof me - 1);
  if (pid > 0 && pid != (long)getpid() && (!host[0] || !strcmp(host, me)) &&
      kill((pid_t)pid, 0) != 0 && errno == ESRCH)
    out->stale_pid = pid;
  char text[400];
  int n = snprintf(text, sizeof text, "pid %ld\nhost %s\n", (long)getpid(), me);
  errno = 0;
  if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n) {
    int e = errno ? errno : EIO;
    close(fd);
    return porta_train_fail(err, err_size, PORTA_ERR_IO, "cannot write %s: %s", path, strerror(e));
  }
  out->fd = fd;
  return PORTA_OK;
}

void porta_run_unlock(porta_run_lock_info *lock) {
  // an orderly end empties the file (only a killed holder leaves its PID), then closing the last
  // descriptor drops the flock
  if (lock->fd >= 0 && ftruncate(lock->fd, 0) != 0) {
    // nothing to do: the PID left behind only makes the next run note a takeover
  }
  if (lock->fd >= 0) close(lock->fd);
  lock->fd = -1;
}
