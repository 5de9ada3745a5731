// Package solo mines blocks on a node through its JSON-RPC API:
// getblocktemplate (long-polled, so new tips reach the miner at once) and
// submitblock, as a solo miner does with Bitcoin Core.
package solo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/template"
	"github.com/powmine/powmine/internal/jsonrpc"
	"github.com/powmine/powmine/miner"
)

// refresh is how often a new template is fetched although the tip has not
// changed, so that new transfers and a later timestamp get in.
const refresh = 15 * time.Second

// Config configures Run.
type Config struct {
	// Client talks to the node. This field is required.
	Client *jsonrpc.Client
	// Payout receives the block rewards. This field is required.
	Payout chain.Address
	// Miner does the hashing; Run feeds it work and reads its shares.
	// This field is required, and Run must be its only user.
	Miner *miner.Miner
	// Found, if set, is called for every block the node accepted.
	Found func(Found)
	// Logger receives errors and rejections. Can be nil: discard.
	Logger *slog.Logger
}

// Found describes a block this miner found.
type Found struct {
	Height int64
	Hash   chain.Hash
	// Result is submitblock's answer: "" when the block became the tip,
	// else Core's reason ("inconclusive", "duplicate", a rule).
	Result string
}

// Run mines until ctx is done: it keeps the miner on the newest template
// and submits every block found. Mining on templates from a node that is
// gone is pointless, so it retries the node with a pause.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Client == nil || cfg.Miner == nil {
		return errors.New("solo: Client and Miner are required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	templates := make(chan *job)
	go fetchLoop(ctx, cfg, log, templates)

	jobs := map[*miner.Work]*job{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case j := <-templates:
			w := &miner.Work{ID: fmt.Sprint(j.height), Header: j.header, Target: j.target, Roll: j.roll}
			clear(jobs)
			jobs[w] = j
			cfg.Miner.SetWork(w)
		case s, ok := <-cfg.Miner.Shares():
			if !ok {
				return nil
			}
			j := jobs[s.Work]
			if j == nil {
				continue // work replaced since
			}
			found, err := submit(ctx, cfg.Client, j, s)
			if err != nil {
				log.Error("submitting a block failed", "height", j.height, "err", err)
				continue
			}
			if cfg.Found != nil {
				cfg.Found(found)
			}
		}
	}
}

// submit assembles and submits the block of a share.
func submit(ctx context.Context, c *jsonrpc.Client, j *job, s miner.Share) (Found, error) {
	b, err := j.block(s.Header, s.Roll)
	if err != nil {
		return Found{}, err
	}
	raw, err := b.MarshalBinary()
	if err != nil {
		return Found{}, err
	}
	var result *string
	if err := c.Call(ctx, "submitblock", &result, fmt.Sprintf("%x", raw)); err != nil {
		return Found{}, err
	}
	f := Found{Height: j.height, Hash: s.Hash}
	if result != nil {
		f.Result = *result
	}
	return f, nil
}

// fetchLoop sends a template at start, whenever the long poll reports a
// new tip, and every refresh interval.
func fetchLoop(ctx context.Context, cfg Config, log *slog.Logger, out chan<- *job) {
	longPoll := ""
	fetched := time.Time{}
	for ctx.Err() == nil {
		req := map[string]string{"payout": cfg.Payout.String()}
		if longPoll != "" && time.Since(fetched) < refresh {
			req["longpollid"] = longPoll
		}
		var t template.Reply
		err := cfg.Client.Call(ctx, "getblocktemplate", &t, req)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("getblocktemplate failed; retrying", "err", err)
				sleep(ctx, 2*time.Second)
			}
			continue
		}
		j, err := decode(&t)
		if err != nil {
			log.Error("bad template from the node; retrying", "err", err)
			sleep(ctx, 2*time.Second)
			continue
		}
		fetched, longPoll = time.Now(), j.longPollID
		select {
		case out <- j:
		case <-ctx.Done():
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
