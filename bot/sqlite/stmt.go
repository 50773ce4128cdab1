package sqlite

import (
	"database/sql"
	"fmt"
	"sync"

	"github.com/supportbot/supportbot/bot"
)

// wtx is a write transaction of the group commit. Its Exec, Query and
// QueryRow reuse statements prepared once on the writer connection: SQLite
// spends more time compiling a statement than running these small ones, so
// compiling each once is most of the intake's throughput.
type wtx struct {
	*sql.Tx
	s *Store
	// changes are the state changes made so far, for Store.OnTransition.
	changes []bot.Transition
}

func (tx *wtx) stmt(q string) *sql.Stmt {
	ps := tx.s.stmts[q]
	if ps == nil {
		// Prepared after this commit, when no transaction holds the
		// connection; this run compiles it once more.
		if len(tx.s.stmts)+len(tx.s.pending) < maxStmts {
			tx.s.pending[q] = struct{}{}
		}
		return nil
	}
	// Prepared on the single writer connection, so Stmt reuses it.
	return tx.Tx.Stmt(ps)
}

// Exec runs q, with a cached prepared statement when q is a known query.
func (tx *wtx) Exec(q string, args ...any) (sql.Result, error) {
	if st := tx.stmt(q); st != nil {
		return st.Exec(args...)
	}
	return tx.Tx.Exec(q, args...)
}

// Query runs q, with a cached prepared statement when q is a known query.
func (tx *wtx) Query(q string, args ...any) (*sql.Rows, error) {
	if st := tx.stmt(q); st != nil {
		return st.Query(args...)
	}
	return tx.Tx.Query(q, args...)
}

// QueryRow runs q, with a cached prepared statement when q is a known query.
func (tx *wtx) QueryRow(q string, args ...any) *sql.Row {
	if st := tx.stmt(q); st != nil {
		return st.QueryRow(args...)
	}
	return tx.Tx.QueryRow(q, args...)
}

// maxStmts bounds the statement cache.
const maxStmts = 256

// preparePending prepares the queries first seen in the last batch. Only the
// writer goroutine calls it, between transactions.
func (s *Store) preparePending() {
	for q := range s.pending {
		st, err := s.w.Prepare(q)
		if err != nil {
			s.Logger.Warn("prepare statement", "err", err)
		} else {
			s.stmts[q] = st
		}
		delete(s.pending, q)
	}
}

var (
	preparedMu sync.Mutex
	prepared   []string
)

// prep registers a write-path query to prepare at Open and returns it.
func prep(q string) string {
	preparedMu.Lock()
	defer preparedMu.Unlock()
	prepared = append(prepared, q)
	return q
}

// prepareAll prepares every registered query on the writer. It must run
// before the writer goroutine starts: with one connection, preparing while
// a transaction holds it would block forever.
func (s *Store) prepareAll() error {
	preparedMu.Lock()
	defer preparedMu.Unlock()
	s.stmts = make(map[string]*sql.Stmt, len(prepared))
	s.pending = map[string]struct{}{}
	for _, q := range prepared {
		st, err := s.w.Prepare(q)
		if err != nil {
			return fmt.Errorf("prepare %.60q: %w", q, err)
		}
		s.stmts[q] = st
	}
	return nil
}

func (s *Store) closeStmts() {
	for _, st := range s.stmts {
		_ = st.Close()
	}
}
