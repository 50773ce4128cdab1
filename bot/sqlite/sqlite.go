// Package sqlite is supportbot's store on SQLite (mattn/go-sqlite3): the
// inbox of events, the job queue, conversations, messages, transitions,
// replies, escalations and the audit log.
//
// One goroutine owns the writer connection and commits writes in groups: the
// writes queued while one commit is in flight share the next transaction and
// its fsync, each inside its own savepoint so one failure does not undo the
// others. Reads use a separate read-only pool, which WAL lets run beside the
// writer.
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/supportbot/supportbot/bot"
)

//go:embed migration/*.sql
var migrationFS embed.FS

// Defaults.
const (
	DefaultMaxBatch    = 512
	DefaultReadConns   = 4
	DefaultBusyTimeout = 10 * time.Second
)

// Store is the SQLite implementation of supportbot's storage.
type Store struct {
	// Path is the database file.
	Path string
	// MaxBatch caps the writes committed in one transaction.
	MaxBatch int
	// MaxPageCount, when > 0, caps the database size (PRAGMA max_page_count);
	// used to test a full disk.
	MaxPageCount int64
	// Now returns the current time; tests replace it.
	Now    func() time.Time
	Logger *slog.Logger
	// OnTransition, when set, is called with each change of a
	// conversation's state once it is committed, on the writer goroutine:
	// it must return at once (the web chat's status line uses it).
	OnTransition func(bot.Transition)

	w, r  *sql.DB
	stmts map[string]*sql.Stmt // writer goroutine only
	// pending holds queries to prepare after the current commit.
	pending map[string]struct{}
	stats   struct{ batches, writes atomic.Int64 }
	// lastBatch is the size of the last committed batch (writer only).
	lastBatch int
	writes    chan *writeReq // background writes: claims, job outcomes
	intake    chan *writeReq // acknowledgements waiting on a commit

	// notify is signalled after a commit that queued jobs.
	notifyMu sync.Mutex
	notify   []chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// stopped is closed when the writer has returned: a write queued after
	// that is never committed, and its caller must not wait for it.
	stopped chan struct{}
}

// NewStore returns a store for the database file at path; call Open.
func NewStore(path string) *Store {
	return &Store{Path: path, Now: time.Now, Logger: slog.Default()}
}

func (s *Store) now() time.Time { return s.Now().UTC() }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// Open creates the directory and the database if needed, checks that the
// file is a healthy SQLite database, applies migrations and starts the writer.
// A file that is not a database is an error; it is never overwritten.
func (s *Store) Open() (err error) {
	s.MaxBatch = cmp.Or(s.MaxBatch, DefaultMaxBatch)
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if dir := filepath.Dir(s.Path); dir != "" {
		// The database holds every conversation and the run-time triggers'
		// secrets: only the service's user may read it. SQLite creates the
		// WAL and SHM files with the database file's mode.
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create data directory: %w", err)
		}
	}
	if err := privateFiles(s.Path); err != nil {
		return err
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	// FULL: a 202 means the event survives power loss, not only a crash.
	q.Set("_synchronous", "FULL")
	q.Set("_busy_timeout", fmt.Sprint(DefaultBusyTimeout.Milliseconds()))
	q.Set("_foreign_keys", "on")
	// IMMEDIATE takes the write lock at BEGIN so the busy handler can wait,
	// instead of failing on a read-to-write upgrade.
	q.Set("_txlock", "immediate")
	// A larger page cache than the 2 MiB default: the queue's indexes are
	// hot, and re-allocating evicted pages cost more than the SQL itself.
	q.Set("_cache_size", "-32768")
	w, err := sql.Open("sqlite3", "file:"+s.Path+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	defer func() {
		if err != nil {
			_ = w.Close()
		}
	}()
	if err := checkIntegrity(w); err != nil {
		return err
	}
	if s.MaxPageCount > 0 {
		if _, err := w.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", s.MaxPageCount)); err != nil {
			return fmt.Errorf("set max_page_count: %w", err)
		}
	}
	if err := migrate(w, s.now()); err != nil {
		return err
	}
	s.w = w
	if err := s.prepareAll(); err != nil {
		return err
	}
	rq := url.Values{}
	rq.Set("_busy_timeout", fmt.Sprint(DefaultBusyTimeout.Milliseconds()))
	rq.Set("_foreign_keys", "on")
	rq.Set("_query_only", "true")
	rq.Set("_cache_size", "-8192")
	r, err := sql.Open("sqlite3", "file:"+s.Path+"?"+rq.Encode())
	if err != nil {
		return fmt.Errorf("open read pool: %w", err)
	}
	r.SetMaxOpenConns(DefaultReadConns)
	r.SetMaxIdleConns(DefaultReadConns)
	s.w, s.r = w, r
	s.writes = make(chan *writeReq, s.MaxBatch*4)
	s.intake = make(chan *writeReq, s.MaxBatch*4)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.stopped = make(chan struct{})
	s.wg.Add(1)
	go s.writer()
	return nil
}

// checkIntegrity fails with a clear error when the file is not a database or
// is damaged, rather than letting migrations touch it.
func checkIntegrity(db *sql.DB) error {
	var res string
	if err := db.QueryRow("PRAGMA quick_check").Scan(&res); err != nil {
		return fmt.Errorf("check database: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("check database: integrity check says %q", res)
	}
	return nil
}

// Close stops the writer after it has committed what was queued, and closes
// both pools.
func (s *Store) Close() error {
	if s.cancel == nil {
		return nil
	}
	s.cancel()
	s.wg.Wait()
	s.closeStmts()
	err := errors.Join(s.r.Close(), s.w.Close())
	s.cancel = nil
	return err
}

// Ping checks that the store is writable: it runs a write through the
// writer goroutine.
func (s *Store) Ping(ctx context.Context) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, "UPDATE schema_migrations SET applied_at = applied_at WHERE version = 0")
		return err
	})
}

func migrate(db *sql.DB, now time.Time) error {
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migration/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := filepath.Base(name)
		var version int
		if _, err := fmt.Sscanf(base, "%04d_", &version); err != nil {
			return fmt.Errorf("migration %s: name must start with a 4-digit version", base)
		}
		if err := applyMigration(db, version, name, now); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(db *sql.DB, version int, name string, now time.Time) error {
	tx, err := db.Begin()
	if err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRow("SELECT COUNT(*) FROM schema_migrations WHERE version = ?", version).Scan(&n); err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	if n > 0 {
		return nil
	}
	body, err := migrationFS.ReadFile(name)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	if _, err := tx.Exec(string(body)); err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	if _, err := tx.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		version, filepath.Base(name), ms(now)); err != nil {
		return fmt.Errorf("migrate %s: %w", name, err)
	}
	return tx.Commit()
}

var (
	qSavepoint  = prep("SAVEPOINT w")
	qRollbackTo = prep("ROLLBACK TO w")
	qRelease    = prep("RELEASE w")
)

// writeReq is one write waiting for the group commit.
type writeReq struct {
	fn     func(tx *wtx) error
	done   chan error // nil: nobody waits (audit of rejected requests)
	notify bool       // signal job listeners after commit
	// ingest, when set, is a webhook acknowledgement: an event stored by the
	// batch's multi-row statements instead of by fn, queued ahead of
	// background writes.
	ingest *ingestReq
}

// write runs fn in the next group commit and returns once it is durable.
func (s *Store) write(ctx context.Context, fn func(tx *wtx) error) error {
	return s.submit(ctx, &writeReq{fn: fn, done: make(chan error, 1)})
}

// writeNotify is write, and wakes job listeners after the commit.
func (s *Store) writeNotify(ctx context.Context, fn func(tx *wtx) error) error {
	return s.submit(ctx, &writeReq{fn: fn, done: make(chan error, 1), notify: true})
}

func (s *Store) submit(ctx context.Context, req *writeReq) error {
	if s.ctx == nil || s.ctx.Err() != nil {
		return bot.ErrClosed
	}
	ch := s.writes
	if req.ingest != nil {
		ch = s.intake
	}
	select {
	case ch <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.ctx.Done():
		return bot.ErrClosed
	}
	if req.done == nil {
		return nil
	}
	// Once queued, the write is committed or fails as a whole; wait for the
	// outcome even if ctx ends, so a caller never reports a stored event as
	// lost. A write that reached the queue after the writer drained it on
	// Close is never run: the writer's exit says so.
	select {
	case err := <-req.done:
		return err
	case <-s.stopped:
		select {
		case err := <-req.done: // committed during the final drain
			return err
		default:
			return bot.ErrClosed
		}
	}
}

func (s *Store) writer() {
	defer s.wg.Done()
	defer close(s.stopped)
	batch := make([]*writeReq, 0, s.MaxBatch)
	for {
		select {
		case req := <-s.intake:
			batch = append(batch[:0], req)
		case req := <-s.writes:
			batch = append(batch[:0], req)
		case <-s.ctx.Done():
			// Commit what was queued before Close so no waiter hangs.
			for {
				select {
				case req := <-s.intake:
					s.commit([]*writeReq{req})
				case req := <-s.writes:
					s.commit([]*writeReq{req})
				default:
					return
				}
			}
		}
		batch = s.fill(batch)
		s.commit(batch)
		if len(s.pending) > 0 {
			s.preparePending()
		}
	}
}

// fill adds queued writes to batch, intake first. Callers woken by the
// previous commit are still on their way back with their next write, so
// while writes keep arriving it yields to let them in: on two cores that
// raises the batch, and so the writes per fsync, severalfold at a cost of
// microseconds. Background writes (job claims and outcomes) get at most a
// quarter of a batch while intake is busy, and never less than minWork, so
// acknowledgements stay fast under load and the workers still progress.
func (s *Store) fill(batch []*writeReq) []*writeReq {
	const minWork = 16
	work := 0
	for _, r := range batch {
		if r.ingest == nil {
			work++
		}
	}
	for spins := 0; len(batch) < s.MaxBatch; {
		select {
		case req := <-s.intake:
			batch = append(batch, req)
			continue
		default:
		}
		if work < max(minWork, (len(batch)-work)/3) {
			select {
			case req := <-s.writes:
				batch = append(batch, req)
				work++
				continue
			default:
			}
		}
		if spins == s.lingerSpins() {
			return batch
		}
		spins++
		runtime.Gosched()
	}
	return batch
}

// lingerSpins is how many times fill yields waiting for more writes: none
// when the last batch was a lone write (no concurrency to wait for).
func (s *Store) lingerSpins() int {
	if s.lastBatch <= 1 {
		return 0
	}
	return 4
}

// commit runs a batch in one transaction, each write in a savepoint.
func (s *Store) commit(batch []*writeReq) {
	s.lastBatch = len(batch)
	s.stats.batches.Add(1)
	s.stats.writes.Add(int64(len(batch)))
	errs := make([]error, len(batch))
	var changes []bot.Transition // the committed writes' state changes
	err := func() error {
		stx, err := s.w.Begin()
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer func() { _ = stx.Rollback() }()
		tx := &wtx{Tx: stx, s: s}
		defer func() { changes = tx.changes }()
		var ingests []*ingestReq
		for _, req := range batch {
			if req.ingest != nil {
				ingests = append(ingests, req.ingest)
			}
		}
		if len(ingests) > 0 {
			if err := ingestBatch(tx, ingests, s.now()); err != nil {
				return err
			}
		}
		for i, req := range batch {
			if req.ingest != nil {
				continue
			}
			if _, err := tx.Exec(qSavepoint); err != nil {
				return fmt.Errorf("savepoint: %w", err)
			}
			mark := len(tx.changes)
			if errs[i] = req.fn(tx); errs[i] != nil {
				tx.changes = tx.changes[:mark] // rolled back below
				if errs[i] = classify(errs[i]); errors.Is(errs[i], bot.ErrStoreFull) {
					// SQLite may have rolled back the whole transaction
					// (and its savepoint) on a full disk: fail the batch.
					return errs[i]
				}
				if _, err := tx.Exec(qRollbackTo); err != nil {
					return fmt.Errorf("rollback to savepoint: %w", err)
				}
			}
			if _, err := tx.Exec(qRelease); err != nil {
				return fmt.Errorf("release savepoint: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}()
	if err != nil {
		err = classify(err)
		s.Logger.Error("group commit", "err", err, "writes", len(batch))
	}
	// Transitions are reported after the commit and before the writers
	// hear back, so a caller that changed a state sees its report done.
	if err == nil && s.OnTransition != nil {
		for _, t := range changes {
			s.OnTransition(t)
		}
	}
	notify := false
	for i, req := range batch {
		e := errs[i]
		if err != nil {
			e = err
		}
		if e == nil && req.notify {
			notify = true
		}
		if req.done != nil {
			req.done <- classify(e)
		}
	}
	if notify {
		s.signal()
	}
}

// classify maps SQLite's "database or disk is full" to bot.ErrStoreFull.
func classify(err error) error {
	if err == nil || errors.Is(err, bot.ErrStoreFull) {
		return err // classified already
	}
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrFull {
		return fmt.Errorf("%w: %w", bot.ErrStoreFull, err)
	}
	if strings.Contains(err.Error(), "database or disk is full") {
		return fmt.Errorf("%w: %w", bot.ErrStoreFull, err)
	}
	return err
}

// Notify returns a channel that receives a value (coalesced) after each
// commit that queued or released jobs.
func (s *Store) Notify() <-chan struct{} {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	ch := make(chan struct{}, 1)
	s.notify = append(s.notify, ch)
	return ch
}

func (s *Store) signal() {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	for _, ch := range s.notify {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func isUnique(err error) bool {
	var se sqlite3.Error
	// A text PRIMARY KEY (runtime_triggers.name) reports its own code, not
	// UNIQUE's.
	return errors.As(err, &se) && (se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey)
}

// CommitStats reports how many group commits ran and how many writes they
// carried.
func (s *Store) CommitStats() (batches, writes int64) {
	return s.stats.batches.Load(), s.stats.writes.Load()
}

// SetMaxPageCount changes the database's size cap at run time (0 lifts it to
// SQLite's maximum); used to simulate a full disk and its recovery.
func (s *Store) SetMaxPageCount(ctx context.Context, n int64) error {
	if n <= 0 {
		n = 4294967294
	}
	// Another write of the same group commit may still fail on the full
	// disk and fail the batch; the pragma itself is not transactional.
	var err error
	for range 10 {
		err = s.write(ctx, func(tx *wtx) error {
			_, err := tx.Tx.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", n))
			return err
		})
		if !errors.Is(err, bot.ErrStoreFull) {
			return err
		}
	}
	return err
}

// privateFiles creates the database file with mode 0600 if it is missing,
// and takes group and other access off it and its WAL and SHM files (made
// by an older version with the process's umask).
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
	_ = f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return fmt.Errorf("database file mode: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, st.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("database file mode: %w", err)
			}
		}
	}
	return nil
}

var _ bot.Store = (*Store)(nil)
