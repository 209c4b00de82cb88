/* SPDX-License-Identifier: MIT */
/*
 * sim_server: the simulator's socket I/O. The Unix socket is bound under a
 * temporary name and renamed into place once it listens, and removed at
 * exit only while it is still ours. Up to SIM_CONN_MAX connections are
 * non-blocking; each turn of the loop reads what came in, answers the
 * complete requests in order (pipelining included, while less than
 * SIM_OUT_HIGH_WATER waits to be sent), sends what it can, and closes the
 * connections that are done: broken, idle too long, or ended by us (shut
 * down for writing, then drained for a while, so the peer reads the
 * answer before the close).
 */
#define _GNU_SOURCE /* accept4, memmem */

#include "sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SIM_LISTEN_BACKLOG 128
/* Pipelined requests are not answered while this much is still unsent, so a
 * client that never reads cannot make us buffer without bound. */
#define SIM_OUT_HIGH_WATER ((size_t)256 * 1024)
#define SIM_OUT_MAX ((size_t)256 * 1024 * 1024)
#define SIM_OUT_KEEP ((size_t)1024 * 1024) /* free drained buffers above */
#define SIM_IDLE_TIMEOUT_US ((uint64_t)300 * 1000000)
#define SIM_LINGER_US ((uint64_t)1000000) /* draining a closing client */

static size_t unsent(const struct sim_conn *c) {
  return c->out.len - c->out_off;
}

int sim_server_listen(struct sim *s) {
  const char *path = s->o->socket_path;
  struct sockaddr_un addr;
  char tmp[sizeof(addr.sun_path)];
  const char *bind_path = path;
  struct stat st;
  int fd = -1;

  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof(addr.sun_path)) {
    sim_err("--socket: path longer than %zu bytes", sizeof(addr.sun_path) - 1);
    return -1;
  }
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      sim_err("%s exists and is not a socket; refusing to replace it", path);
      return -1;
    }
    if (unlink(path) != 0) {
      sim_err("unlink %s: %s", path, strerror(errno));
      return -1;
    }
  } else if (errno != ENOENT) {
    sim_err("stat %s: %s", path, strerror(errno));
    return -1;
  }
  /* Bind under a temporary name and rename once listening, so that the
   * socket file appears only when it accepts connections. Paths too long
   * for the temporary name bind directly. */
  int n = snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
  if (n > 0 && (size_t)n < sizeof(tmp)) {
    bind_path = tmp;
    unlink(tmp);
  }
  memcpy(addr.sun_path, bind_path, strlen(bind_path) + 1);

  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    sim_err("socket: %s", strerror(errno));
    return -1;
  }
  if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
      listen(fd, SIM_LISTEN_BACKLOG) != 0 ||
      (bind_path != path && rename(bind_path, path) != 0) ||
      stat(path, &st) != 0) {
    sim_err("listening on %s: %s", path, strerror(errno));
    if (bind_path != path)
      unlink(bind_path);
    close(fd);
    return -1;
  }
  s->srv.listen_fd = fd;
  s->srv.sock_owned = true;
  s->srv.sock_dev = st.st_dev;
  s->srv.sock_ino = st.st_ino;
  return 0;
}

/* Answers the complete requests in c->in, in order, while the unsent output
 * stays below the high-water mark. */
static void serve(struct sim *s, struct sim_conn *c) {
  while (!c->close_after && !c->broken && unsent(c) < SIM_OUT_HIGH_WATER) {
    const char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (end == NULL) {
      if (c->in_len == sizeof(c->in)) {
        c->close_after = true;
        sim_http_error(s, c, 400, "request header too large", NULL);
      }
      return;
    }
    size_t used = (size_t)(end - c->in) + 4;
    sim_api_request(s, c, c->in, used - 2);
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
  }
}

static void conn_read(struct sim_conn *c, uint64_t now_us) {
  while (!c->peer_eof && c->in_len < sizeof(c->in)) {
    ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
    if (n > 0) {
      c->in_len += (size_t)n;
      c->last_active_us = now_us;
      if (c->linger_until_us != 0)
        c->in_len = 0; /* nothing more will be answered */
    } else if (n == 0) {
      c->peer_eof = true;
    } else if (errno != EINTR) {
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        c->broken = true;
      return;
    }
  }
}

static void conn_write(struct sim_conn *c, uint64_t now_us) {
  while (!c->broken && unsent(c) > 0) {
    ssize_t n = send(c->fd, c->out.p + c->out_off, unsent(c),
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      c->out_off += (size_t)n;
      c->last_active_us = now_us;
    } else if (errno != EINTR) {
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        c->broken = true;
      return;
    }
  }
  if (unsent(c) == 0) {
    sm_buf_reset(&c->out);
    c->out_off = 0;
    /* One huge page should not pin its memory for the connection's life. */
    if (c->out.cap > SIM_OUT_KEEP)
      sm_buf_free(&c->out);
  }
}

/* Whether to close c now. A connection we end is first shut down for
 * writing and drained for a while: closing a Unix socket with unread input
 * resets it, and the peer would lose the answer it has not read yet. */
static bool conn_done(struct sim_conn *c, uint64_t now_us) {
  if (c->broken)
    return true;
  if (unsent(c) > 0)
    return false;
  if (c->linger_until_us != 0)
    return c->peer_eof || now_us >= c->linger_until_us;
  if (c->peer_eof)
    return true;
  if (c->close_after) {
    shutdown(c->fd, SHUT_WR);
    c->linger_until_us = now_us + SIM_LINGER_US;
    return false;
  }
  return now_us - c->last_active_us > SIM_IDLE_TIMEOUT_US;
}

static void conn_close(struct sim *s, size_t slot) {
  struct sim_conn *c = s->srv.conns[slot];
  close(c->fd);
  sm_buf_free(&c->out);
  free(c);
  s->srv.conns[slot] = NULL;
  s->srv.nconns--;
}

static void conn_accept(struct sim *s, uint64_t now_us) {
  while (s->srv.nconns < SIM_CONN_MAX) {
    int fd =
        accept4(s->srv.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    size_t slot = 0;
    struct sim_conn *c;

    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        sim_err("accept: %s", strerror(errno));
      return;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
      sim_err("out of memory for a connection");
      close(fd);
      return;
    }
    while (s->srv.conns[slot] != NULL)
      slot++;
    c->fd = fd;
    sm_buf_init(&c->out, SIM_OUT_MAX);
    c->last_active_us = now_us;
    s->srv.conns[slot] = c;
    s->srv.nconns++;
  }
}

void sim_server_close(struct sim *s) {
  struct stat st;

  for (size_t i = 0; i < SIM_CONN_MAX; i++)
    if (s->srv.conns[i] != NULL)
      conn_close(s, i);
  if (s->srv.listen_fd >= 0)
    close(s->srv.listen_fd);
  /* Only our own socket file: another simulator may have replaced it. */
  if (s->srv.sock_owned && stat(s->o->socket_path, &st) == 0 &&
      st.st_dev == s->srv.sock_dev && st.st_ino == s->srv.sock_ino)
    unlink(s->o->socket_path);
}

void sim_server_drop_idle(struct sim *s) {
  for (size_t i = 0; i < SIM_CONN_MAX; i++)
    if (s->srv.conns[i] != NULL && unsent(s->srv.conns[i]) == 0 &&
        s->srv.conns[i]->in_len == 0)
      s->srv.conns[i]->close_after = true;
}

void sim_server_poll_set(const struct sim *s, struct sim_server_poll *p) {
  p->n = 0;
  if (s->srv.nconns < SIM_CONN_MAX) {
    p->fds[p->n] = (struct pollfd){.fd = s->srv.listen_fd, .events = POLLIN};
    p->slot[p->n++] = SIM_CONN_MAX;
  }
  for (size_t i = 0; i < SIM_CONN_MAX; i++) {
    const struct sim_conn *c = s->srv.conns[i];
    short ev = 0;
    if (c == NULL)
      continue;
    if (!c->peer_eof && (c->linger_until_us != 0 ||
                         (!c->close_after && c->in_len < sizeof(c->in))))
      ev |= POLLIN;
    if (unsent(c) > 0)
      ev |= POLLOUT;
    p->fds[p->n] = (struct pollfd){.fd = c->fd, .events = ev};
    p->slot[p->n++] = i;
  }
}

void sim_server_poll_done(struct sim *s, const struct sim_server_poll *p,
                          uint64_t now_us) {
  for (nfds_t k = 0; k < p->n; k++) {
    short re = p->fds[k].revents;
    if (re == 0)
      continue;
    if (p->slot[k] == SIM_CONN_MAX) {
      conn_accept(s, now_us);
      continue;
    }
    struct sim_conn *c = s->srv.conns[p->slot[k]];
    if (re & (POLLERR | POLLNVAL))
      c->broken = true;
    else if (re & (POLLIN | POLLHUP))
      conn_read(c, now_us);
  }
}

void sim_server_turn(struct sim *s, uint64_t now_us) {
  for (size_t i = 0; i < SIM_CONN_MAX; i++) {
    struct sim_conn *c = s->srv.conns[i];
    if (c == NULL)
      continue;
    serve(s, c);
    conn_write(c, now_us);
    if (conn_done(c, now_us))
      conn_close(s, i);
  }
}
