package agent

import (
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Limits of the admin HTTP server. A round started by POST .../poll or
// .../resync may outlast adminWriteTimeout: those handlers lift the write
// deadline for their (authenticated) request.
const (
	adminReadHeaderTimeout = 10 * time.Second
	adminReadTimeout       = 30 * time.Second
	adminWriteTimeout      = 60 * time.Second
	adminIdleTimeout       = 60 * time.Second
	adminMaxHeaderBytes    = 64 << 10
	// adminMaxConns caps the connections served at once; more wait in the
	// kernel's accept queue until one closes.
	adminMaxConns = 64
)

// limitListener accepts at most cap(sem) connections at a time.
type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newLimitListener(l net.Listener, n int) *limitListener {
	return &limitListener{Listener: l, sem: make(chan struct{}, n), done: make(chan struct{})}
}

// Accept waits for a free slot, then for a connection; the slot is freed
// when the connection closes.
func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: sync.OnceFunc(func() { <-l.sem })}, nil
}

// Close closes the listener and ends a waiting Accept.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

// adminTokenFile is the admin token in force: admin.token in data_dir, read
// again whenever the file changes (`onedrive-agent admin rotate-token`).
type adminTokenFile struct {
	dir string
	log *slog.Logger

	mu  sync.Mutex
	tok string
	fi  os.FileInfo
}

func newAdminTokenFile(dir string, log *slog.Logger) (*adminTokenFile, error) {
	tok, err := EnsureAdminToken(dir)
	if err != nil {
		return nil, err
	}
	t := &adminTokenFile{dir: dir, log: log, tok: tok}
	t.fi, _ = os.Lstat(filepath.Join(dir, AdminTokenFile))
	return t, nil
}

// get returns the token in force. When the file was replaced or changed
// it is read again; a file that is gone keeps the last token; one that can
// no longer be read safely (see ReadAdminToken) or is empty disables the
// token until it is fixed.
func (t *adminTokenFile) get() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	fi, err := os.Lstat(filepath.Join(t.dir, AdminTokenFile))
	if err != nil || (t.fi != nil && os.SameFile(fi, t.fi) && fi.ModTime().Equal(t.fi.ModTime()) && fi.Size() == t.fi.Size()) {
		return t.tok
	}
	t.fi = fi
	tok, err := ReadAdminToken(t.dir)
	switch {
	case err != nil:
		t.log.Warn("admin token file cannot be read; requests that need the token are refused until it is fixed", "err", err)
		t.tok = ""
	case tok == "":
		t.log.Warn("admin token file is empty; requests that need the token are refused until `onedrive-agent admin rotate-token` writes one")
		t.tok = ""
	case tok != t.tok:
		t.log.Info("admin token changed")
		t.tok = tok
	}
	return t.tok
}
