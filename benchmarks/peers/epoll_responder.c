/* The syscall ceiling: answers fixed bytes for every request it sees (a request ends at an empty line) and
 * parses nothing else but the first letter of the path (/plaintext or /json). Edge-triggered epoll, one loop
 * per thread, responses gathered and written once per drained read. It is a ceiling, not a server.
 * Usage: peer_epoll [--port N] [--threads T] */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kRead = 16384, kMaxEvents = 256 };
typedef struct {
  int fd, col, first_line, is_json; /* col: bytes of the current line seen so far (lines span reads) */
  char* out;
  size_t out_len, out_cap, out_sent;
} conn;

static int port = 8080;
static __thread char resp[2][256]; /* per thread, so the once-a-second refresh needs no lock */
static __thread size_t resp_len[2];
static __thread time_t resp_time;

static void refresh_date(void) {
  time_t now = time(NULL);
  if (now == resp_time) return;
  resp_time = now;
  char date[64];
  struct tm tm;
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
  static const char* const type[2] = {"text/plain", "application/json"};
  static const char* const body[2] = {"Hello, World!", "{\"message\":\"Hello, World!\"}"};
  for (int k = 0; k < 2; ++k)
    resp_len[k] = (size_t)snprintf(resp[k], sizeof resp[k],
                                   "HTTP/1.1 200 OK\r\nServer: E\r\nDate: %s\r\nContent-Type: %s\r\n"
                                   "Content-Length: %zu\r\n\r\n%s",
                                   date, type[k], strlen(body[k]), body[k]);
}

static void append_response(conn* c) {
  size_t n = resp_len[c->is_json];
  if (c->out_len + n > c->out_cap) {
    c->out_cap = (c->out_len + n) * 2;
    c->out = realloc(c->out, c->out_cap);
    if (!c->out) abort();
  }
  memcpy(c->out + c->out_len, resp[c->is_json], n);
  c->out_len += n;
}

/* Finds line ends with memchr; an empty line ("\r\n") ends a request. Byte 5 of a request line picks the
 * response. */
static void scan(conn* c, const char* p, const char* end) {
  while (p < end) {
    const char* nl = memchr(p, '\n', (size_t)(end - p));
    const char* stop = nl ? nl : end;
    if (c->first_line && c->col <= 5 && c->col + (stop - p) > 5) c->is_json = p[5 - c->col] == 'j';
    if (!nl) {
      c->col += (int)(end - p);
      return;
    }
    if (c->col + (nl - p) <= 1) { /* "\r\n" alone: end of the request */
      append_response(c);
      c->first_line = 1;
    } else {
      c->first_line = 0;
    }
    c->col = 0;
    p = nl + 1;
  }
}

static int flush(conn* c) { /* 1 when everything is written */
  while (c->out_sent < c->out_len) {
    ssize_t n = write(c->fd, c->out + c->out_sent, c->out_len - c->out_sent);
    if (n <= 0) return 0;
    c->out_sent += (size_t)n;
  }
  c->out_len = c->out_sent = 0;
  return 1;
}

static void close_conn(conn* c) {
  close(c->fd);
  free(c->out);
  free(c);
}

static void* serve(void* unused) {
  (void)unused;
  int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one); /* one listener per thread */
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(lfd, (struct sockaddr*)&addr, sizeof addr) || listen(lfd, 4096)) {
    perror("bind/listen");
    exit(1);
  }
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, events[kMaxEvents];
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  static __thread char buf[kRead];
  for (;;) {
    int n = epoll_wait(ep, events, kMaxEvents, -1);
    refresh_date();
    for (int i = 0; i < n; ++i) {
      conn* c = events[i].data.ptr;
      if (!c) { /* the listener */
        int fd;
        while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          c = calloc(1, sizeof *c);
          c->fd = fd;
          c->first_line = 1;
          struct epoll_event cev = {.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      if (!flush(c)) continue; /* EPOLLOUT will come back when the socket drains */
      for (;;) {
        ssize_t got = read(c->fd, buf, kRead);
        if (got > 0) scan(c, buf, buf + got);
        if (got < 0 && errno == EAGAIN) break;
        if (got <= 0) {
          close_conn(c);
          c = NULL;
          break;
        }
        if (got < kRead) break; /* drained: a short read means nothing is left, skip the EAGAIN read */
      }
      if (c) flush(c);
    }
  }
  return NULL;
}

int main(int argc, char** argv) {
  int threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
    if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
  }
  pthread_t t;
  for (int i = 1; i < threads; ++i) pthread_create(&t, NULL, serve, NULL);
  serve(NULL);
}
