package sqlite

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/supportbot/supportbot/bot"
)

// ingestReq is one event waiting for the group commit. Intake writes are
// data, not closures, so that a batch of them becomes a few multi-row
// INSERTs: per-statement overhead, not the rows, is what SQLite spends its
// time on here.
type ingestReq struct {
	trigger, eventID, convKey, typ string
	payload                        []byte
	receivedAt, runAt              time.Time
	burstMS                        int64
	maxAttempts                    int
	audit                          *bot.AuditEntry

	receipt bot.Receipt // the result
}

// chunkSizes are the row counts of the prepared multi-row statements; a
// batch is split greedily into them, so only a few statement shapes exist.
var chunkSizes = []int{64, 16, 4, 1}

func chunks(n int) []int {
	var out []int
	for _, c := range chunkSizes {
		for n >= c {
			out = append(out, c)
			n -= c
		}
	}
	return out
}

func valuesList(rows, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
}

var (
	insertInboxSQL = map[int]string{}
	insertJobSQL   = map[int]string{}
	insertAuditSQL = map[int]string{}
)

func init() {
	for _, n := range chunkSizes {
		insertInboxSQL[n] = prep(`INSERT INTO inbox (trigger, event_id, conversation_key, type, payload, received_at) VALUES ` +
			valuesList(n, 6) + ` ON CONFLICT (trigger, event_id) DO NOTHING RETURNING id, trigger, event_id`)
		insertJobSQL[n] = prep(`INSERT INTO jobs (kind, queue_key, payload, max_attempts, run_at, created_at, updated_at) VALUES ` +
			valuesList(n, 7))
		insertAuditSQL[n] = prep(`INSERT INTO audit (at, trigger, remote, method, status, event_id, error, bytes, duration_us) VALUES ` +
			valuesList(n, 9))
	}
}

type eventKey struct{ trigger, id string }

// ingestBatch stores the events of a batch, their process jobs and their
// audit entries with a few multi-row statements, and sets each receipt.
func ingestBatch(tx *wtx, reqs []*ingestReq, now time.Time) error {
	ids := make(map[eventKey]int64, len(reqs))
	for i := 0; i < len(reqs); {
		for _, n := range chunks(len(reqs) - i) {
			part := reqs[i : i+n]
			args := make([]any, 0, n*6)
			for _, r := range part {
				args = append(args, r.trigger, r.eventID, r.convKey, r.typ, r.payload, ms(r.receivedAt))
			}
			rows, err := tx.Query(insertInboxSQL[n], args...)
			if err != nil {
				return fmt.Errorf("insert inbox: %w", err)
			}
			for rows.Next() {
				var id int64
				var k eventKey
				if err := rows.Scan(&id, &k.trigger, &k.id); err != nil {
					rows.Close()
					return fmt.Errorf("insert inbox: %w", err)
				}
				ids[k] = id
			}
			if err := rows.Close(); err != nil {
				return fmt.Errorf("insert inbox: %w", err)
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("insert inbox: %w", err)
			}
			i += n
		}
	}
	// The first request of each new key gets the fresh row and a job; every
	// other one (stored before, or twice in this batch) is a duplicate.
	var fresh []*ingestReq
	claimed := make(map[eventKey]bool, len(reqs))
	for _, r := range reqs {
		k := eventKey{r.trigger, r.eventID}
		id, isNew := ids[k]
		if isNew && !claimed[k] {
			claimed[k] = true
			r.receipt = bot.Receipt{ID: EventRef(id)}
			fresh = append(fresh, r)
			continue
		}
		if !isNew {
			if err := tx.QueryRow("SELECT id FROM inbox WHERE trigger = ? AND event_id = ?", r.trigger, r.eventID).Scan(&id); err != nil {
				return fmt.Errorf("find duplicate: %w", err)
			}
		}
		r.receipt = bot.Receipt{ID: EventRef(id), Duplicate: true}
	}
	for i := 0; i < len(fresh); {
		for _, n := range chunks(len(fresh) - i) {
			args := make([]any, 0, n*7)
			for _, r := range fresh[i : i+n] {
				id := ids[eventKey{r.trigger, r.eventID}]
				jp := bot.EncodePayload(bot.ProcessPayload{InboxID: id, BurstMS: r.burstMS})
				max := r.maxAttempts
				if max <= 0 {
					max = DefaultMaxAttempts
				}
				args = append(args, bot.JobProcess, r.convKey+LaneIn, jp, max, ms(r.runAt), ms(now), ms(now))
			}
			if err := execFused(tx, insertJobSQL[n], args); err != nil {
				return fmt.Errorf("insert process jobs: %w", err)
			}
			i += n
		}
	}
	var audits []bot.AuditEntry
	for _, r := range reqs {
		if r.audit != nil {
			a := *r.audit
			if r.receipt.Duplicate {
				a.Status = 200
			}
			audits = append(audits, a)
		}
	}
	for i := 0; i < len(audits); {
		for _, n := range chunks(len(audits) - i) {
			args := make([]any, 0, n*9)
			for _, a := range audits[i : i+n] {
				args = append(args, ms(a.At), a.Trigger, a.Remote, a.Method, a.Status, a.EventID, a.Error, a.Bytes, a.Duration.Microseconds())
			}
			if err := execFused(tx, insertAuditSQL[n], args); err != nil {
				return fmt.Errorf("insert audit: %w", err)
			}
			i += n
		}
	}
	return nil
}

// execFused runs a statement that returns no rows through Query: the
// driver binds every argument and takes the first step in one cgo call
// there, where Exec makes one call per argument (hundreds for a multi-row
// INSERT). Stepping through the (empty) result makes sure the statement
// has run to completion before the rows are closed.
func execFused(tx *wtx, q string, args []any) error {
	rows, err := tx.Query(q, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	return errors.Join(rows.Err(), rows.Close())
}
