package dashboard

import (
	"bytes"
	"cmp"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/node"
	"github.com/powmine/powmine/chain/storage"
)

//go:embed assets
var assets embed.FS

// pages are the page templates, parsed once.
var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"rate":  formatRate,
	"float": formatFloat,
	"coins": coins,
	"unix": func(t int64) string {
		if t == 0 {
			return "never"
		}
		return time.Unix(t, 0).UTC().Format("2006-01-02 15:04:05")
	},
}).ParseFS(assets, "assets/*.html"))

// routes returns the page's mux: GET (and HEAD) only.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets/static") // a constant path in the embedded tree
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", s.overviewPage)
	mux.HandleFunc("GET /charts", s.chartsPage)
	mux.HandleFunc("GET /workers", s.workersPage)
	mux.HandleFunc("GET /tree", s.treePage)
	mux.HandleFunc("GET /peers", s.peersPage)
	mux.HandleFunc("GET /block/{id}", s.blockPage)
	mux.HandleFunc("GET /tx/{id}", s.txPage)
	mux.HandleFunc("GET /address/{addr}", s.addressPage)
	mux.HandleFunc("GET /search", s.search)
	mux.HandleFunc("GET /frag/workers", s.workersFragment)
	mux.HandleFunc("GET /frag/tree", s.treeFragment)
	mux.HandleFunc("GET /api/overview", s.apiOverview)
	mux.HandleFunc("GET /api/workers", s.apiWorkers)
	mux.HandleFunc("GET /api/tree", s.apiTree)
	mux.HandleFunc("GET /api/peers", s.apiPeers)
	mux.HandleFunc("GET /events", s.events)
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		s.notFound(w, "No page at "+r.URL.Path+".")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "dashboard: read-only, GET only", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'")
		mux.ServeHTTP(w, r)
	})
}

// view is what the layout template gets.
type view struct {
	Title    string
	Nav      string // the active page's name
	Overview Overview
	Body     any
}

// render executes the named page into a buffer first, so that a
// template error becomes a 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, v view) {
	v.Overview = s.latest().overview
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, v); err != nil {
		s.log.Error("render", "page", name, "err", err)
		http.Error(w, "dashboard: internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// notFound answers 404 with a page saying what was not found.
func (s *Server) notFound(w http.ResponseWriter, msg string) {
	s.render(w, http.StatusNotFound, "notfound.html", view{Title: "Not found", Body: msg})
}

// writeJSON answers v as JSON.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

// overviewBody is the overview page's content.
type overviewBody struct {
	Chart template.HTML
	Tree  template.HTML
}

func (s *Server) overviewPage(w http.ResponseWriter, _ *http.Request) {
	now := s.now().Unix()
	s.render(w, http.StatusOK, "overview.html", view{Title: "Overview", Nav: "overview", Body: overviewBody{
		Chart: hashrateChart("hashrate, last hour", s.hist.hour(), now-3600, now),
		Tree:  s.latest().tree,
	}})
}

// chartsBody is the charts page's content.
type chartsBody struct {
	Hour, Day, ShareDiff, Interval template.HTML
}

func (s *Server) chartsPage(w http.ResponseWriter, _ *http.Request) {
	now := s.now().Unix()
	hour, day := s.hist.hour(), s.hist.day()
	diff := series{Name: "mean share difficulty of the workers"}
	for _, smp := range day {
		diff.T, diff.V = append(diff.T, smp.T), append(diff.V, smp.ShareDiff)
	}
	s.render(w, http.StatusOK, "charts.html", view{Title: "Charts", Nav: "charts", Body: chartsBody{
		Hour:      hashrateChart("hashrate, last hour", hour, now-3600, now),
		Day:       hashrateChart("hashrate, last 24 hours", day, now-24*3600, now),
		ShareDiff: lineChart("share difficulty, last 24 hours", "", now-24*3600, now, []series{diff}),
		Interval:  s.intervalChart(),
	}})
}

// intervalChart draws the seconds between the last IntervalBlocks blocks
// of the best chain against their time.
func (s *Server) intervalChart() template.HTML {
	c := s.cfg.Chain
	tip := c.Tip()
	iv := series{Name: "seconds since the previous block"}
	prev, ok := c.BlockByHeight(max(0, tip.Height-IntervalBlocks))
	for h := prev.Height + 1; ok && h <= tip.Height; h++ {
		b, found := c.BlockByHeight(h)
		if !found {
			break
		}
		iv.T = append(iv.T, int64(b.Header.Timestamp))
		iv.V = append(iv.V, float64(int64(b.Header.Timestamp)-int64(prev.Header.Timestamp)))
		prev = b
	}
	from, to := int64(0), int64(0)
	if len(iv.T) > 0 {
		from, to = iv.T[0], iv.T[len(iv.T)-1]
	}
	return lineChart(fmt.Sprintf("block interval, last %d blocks", len(iv.T)), "s", from, to, []series{iv})
}

// WorkerRow is one row of the workers table and of /api/workers.
type WorkerRow struct {
	Worker     string            `json:"worker"`
	Address    string            `json:"address"`
	Hashrate   float64           `json:"hashrate"`
	Accepted   uint64            `json:"accepted"`
	Rejected   uint64            `json:"rejected"`
	RejectedBy map[string]uint64 `json:"rejected_by_reason"`
	Stale      uint64            `json:"stale"`
	LastShare  int64             `json:"lastshare"` // Unix seconds, 0 for none
	Difficulty float64           `json:"difficulty"`
}

// workerColumns are the sortable columns, in table order.
var workerColumns = []string{"worker", "address", "hashrate", "accepted", "rejected", "stale", "lastshare", "difficulty"}

// workerRows returns at most MaxWorkerRows workers sorted by column
// (workerColumns; default hashrate) in descending order unless asc,
// and the number of tracked workers.
func (s *Server) workerRows(column string, asc bool) ([]WorkerRow, int) {
	if s.cfg.Pool == nil {
		return nil, 0
	}
	ws := s.cfg.Pool.WorkerStats()
	rows := make([]WorkerRow, len(ws))
	for i, w := range ws {
		rows[i] = WorkerRow{Worker: w.Worker, Address: w.Address, Hashrate: w.Hashrate, Accepted: w.Accepted,
			Rejected: w.Rejected, RejectedBy: w.RejectedBy, Stale: w.Stale, Difficulty: w.Difficulty}
		if rows[i].RejectedBy == nil {
			rows[i].RejectedBy = map[string]uint64{}
		}
		if !w.LastShare.IsZero() {
			rows[i].LastShare = w.LastShare.Unix()
		}
	}
	by := func(a, b WorkerRow) int {
		switch column {
		case "worker":
			return strings.Compare(a.Worker, b.Worker)
		case "address":
			return strings.Compare(a.Address, b.Address)
		case "accepted":
			return cmp.Compare(a.Accepted, b.Accepted)
		case "rejected":
			return cmp.Compare(a.Rejected, b.Rejected)
		case "stale":
			return cmp.Compare(a.Stale, b.Stale)
		case "lastshare":
			return cmp.Compare(a.LastShare, b.LastShare)
		case "difficulty":
			return cmp.Compare(a.Difficulty, b.Difficulty)
		}
		return cmp.Compare(a.Hashrate, b.Hashrate)
	}
	slices.SortStableFunc(rows, func(a, b WorkerRow) int {
		if asc {
			return cmp.Or(by(a, b), strings.Compare(a.Worker, b.Worker))
		}
		return cmp.Or(by(b, a), strings.Compare(a.Worker, b.Worker))
	})
	return rows[:min(len(rows), MaxWorkerRows)], len(ws)
}

// sortParams reads ?sort=COLUMN&dir=asc|desc.
func sortParams(r *http.Request) (string, bool) {
	col := r.URL.Query().Get("sort")
	if !slices.Contains(workerColumns, col) {
		col = "hashrate"
	}
	return col, r.URL.Query().Get("dir") == "asc"
}

// workersBody is the workers table's content.
type workersBody struct {
	Pool    bool
	Rows    []WorkerRow
	Tracked int
	Max     int
	Sort    string
	Asc     bool
	Columns []string
}

func (s *Server) workersBody(r *http.Request) workersBody {
	col, asc := sortParams(r)
	rows, tracked := s.workerRows(col, asc)
	return workersBody{Pool: s.cfg.Pool != nil, Rows: rows, Tracked: tracked, Max: MaxWorkerRows, Sort: col, Asc: asc, Columns: workerColumns}
}

func (s *Server) workersPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "workers.html", view{Title: "Workers", Nav: "workers", Body: s.workersBody(r)})
}

func (s *Server) workersFragment(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "workerstable", view{Body: s.workersBody(r)})
}

func (s *Server) apiWorkers(w http.ResponseWriter, r *http.Request) {
	col, asc := sortParams(r)
	rows, _ := s.workerRows(col, asc)
	if rows == nil {
		rows = []WorkerRow{}
	}
	writeJSON(w, rows)
}

func (s *Server) treePage(w http.ResponseWriter, _ *http.Request) {
	s.render(w, http.StatusOK, "tree.html", view{Title: "Block tree", Nav: "tree", Body: s.latest().tree})
}

func (s *Server) treeFragment(w http.ResponseWriter, _ *http.Request) {
	s.render(w, http.StatusOK, "treefrag", view{Body: s.latest().tree})
}

func (s *Server) apiTree(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.buildTree(s.cfg.Chain.Tip()))
}

func (s *Server) apiOverview(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.latest().overview)
}

// PeerRow is one row of the peers table and of /api/peers.
type PeerRow struct {
	ID        string `json:"id"`
	Addr      string `json:"addr"`
	Direction string `json:"direction"` // "inbound" or "outbound"
	Since     int64  `json:"since"`     // Unix seconds
	Height    *int64 `json:"height,omitempty"`
	Added     bool   `json:"addnode"`
	// Score is the peer's gossipsub score, absent until scored.
	Score *float64 `json:"score,omitempty"`
	// BlocksRelayed and TransfersRelayed count the peer's gossip
	// messages the node accepted since it connected.
	BlocksRelayed    int64 `json:"blocks_relayed"`
	TransfersRelayed int64 `json:"transfers_relayed"`
}

func (s *Server) peerRows() []PeerRow {
	rows := []PeerRow{}
	if s.cfg.Peers == nil {
		return rows
	}
	for _, p := range s.cfg.Peers.Peers() {
		r := PeerRow{ID: p.ID.String(), Direction: "outbound", Since: p.Since.Unix(), Added: p.Added,
			BlocksRelayed: p.BlocksRelayed, TransfersRelayed: p.TransfersRelayed}
		if p.Scored {
			r.Score = &p.Score
		}
		if p.Addr != nil {
			r.Addr = p.Addr.String()
		}
		if p.Inbound {
			r.Direction = "inbound"
		}
		if p.Status != nil {
			h := p.Status.Height
			r.Height = &h
		}
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b PeerRow) int { return cmp.Compare(a.Since, b.Since) })
	return rows
}

// peersBody is the peers page's content.
type peersBody struct {
	Network bool
	Rows    []PeerRow
}

func (s *Server) peersPage(w http.ResponseWriter, _ *http.Request) {
	s.render(w, http.StatusOK, "peers.html", view{Title: "Peers", Nav: "peers", Body: peersBody{Network: s.cfg.Peers != nil, Rows: s.peerRows()}})
}

func (s *Server) apiPeers(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.peerRows())
}

// findBlock resolves a block page's id: a 64-digit hash (any branch) or
// a height on the best chain.
func (s *Server) findBlock(id string) (node.BlockInfo, bool) {
	if len(id) == 2*chain.HashSize {
		h, err := chain.NewHashFromStr(id)
		if err != nil {
			return node.BlockInfo{}, false
		}
		return s.cfg.Chain.BlockInfo(h)
	}
	height, err := strconv.ParseInt(id, 10, 64)
	if err != nil || height < 0 || len(id) > 19 {
		return node.BlockInfo{}, false
	}
	return s.cfg.Chain.BlockByHeight(height)
}

// TxRow is a transaction as the pages show it.
type TxRow struct {
	ID      string
	Type    string
	Outputs []chain.Output // coinbase
	From    string         // transfer, deposit, withdraw: the sender's address
	To      string         // transfer
	Amount  string
	Fee     string
	Seq     uint64
	Extra   string // deposit and withdraw: the validator key
}

func txRow(tx *chain.Transaction) TxRow {
	r := TxRow{ID: tx.TxID().String()}
	switch {
	case tx.Coinbase != nil:
		r.Type, r.Outputs = "coinbase", tx.Coinbase.Outputs
		var sum uint64
		for _, o := range tx.Coinbase.Outputs {
			sum += o.Amount
		}
		r.Amount = coins(sum)
	case tx.Transfer != nil:
		t := tx.Transfer
		r.Type, r.From, r.To, r.Amount, r.Fee, r.Seq = "transfer", t.From.Address().String(), t.To.String(), coins(t.Amount), coins(t.Fee), t.Sequence
	case tx.Deposit != nil:
		d := tx.Deposit
		r.Type, r.From, r.Amount, r.Fee, r.Seq, r.Extra = "deposit", d.From.Address().String(), coins(d.Amount), coins(d.Fee), d.Sequence, d.Validator.String()
	case tx.Withdraw != nil:
		d := tx.Withdraw
		r.Type, r.From, r.Fee, r.Seq, r.Extra = "withdraw", d.From.Address().String(), coins(d.Fee), d.Sequence, d.Validator.String()
	}
	return r
}

// blockBody is the block page's content.
type blockBody struct {
	Hash, Prev, Next, Merkle, Bits string
	Height, Confirmations          int64
	Status                         string
	Time                           int64
	Nonce                          uint32
	Difficulty                     float64
	Stored                         bool
	Txs                            []TxRow
	// Source is the peer the block came from, LocalSource, or "".
	Source string
}

func (s *Server) blockPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	info, ok := s.findBlock(id)
	if !ok {
		s.notFound(w, "No block "+id+" is known to this node.")
		return
	}
	c := s.cfg.Chain
	h := info.Header
	b := blockBody{Hash: info.Hash.String(), Height: info.Height, Merkle: h.MerkleRoot.String(), Bits: fmt.Sprintf("%08x", h.Bits),
		Time: int64(h.Timestamp), Nonce: h.Nonce, Difficulty: difficulty(h.Bits), Status: "stale (side branch)", Confirmations: -1}
	if info.Height > 0 {
		b.Prev = h.PrevBlock.String()
	}
	b.Source = s.source(info.Hash, false)
	switch {
	case c.MainChainHas(info.Hash):
		b.Status = "main chain"
		b.Confirmations = c.Tip().Height - info.Height + 1
		if next, ok := c.BlockByHeight(info.Height + 1); ok {
			b.Next = next.Hash.String()
		}
	case info.Status.KnownInvalid():
		b.Status = "invalid"
	case info.Status&storage.StatusDataStored == 0:
		b.Status = "headers only"
	}
	if blk, err := c.Block(info.Hash); err == nil {
		b.Stored = true
		for i := range blk.Transactions {
			b.Txs = append(b.Txs, txRow(&blk.Transactions[i]))
		}
	} else if !errors.Is(err, storage.ErrNotFound) {
		s.log.Warn("block page", "hash", info.Hash, "err", err)
	}
	s.render(w, http.StatusOK, "block.html", view{Title: fmt.Sprintf("Block %d", info.Height), Body: b})
}

// txBody is the transaction page's content.
type txBody struct {
	Tx     TxRow
	Block  string
	Height int64
}

// findTx looks for a transaction in the block given (?block=HASH) or in
// the last TxScanDepth blocks of the best chain.
func (s *Server) findTx(id chain.Hash, in string) (*chain.Transaction, node.BlockInfo, bool) {
	c := s.cfg.Chain
	look := func(info node.BlockInfo) *chain.Transaction {
		blk, err := c.Block(info.Hash)
		if err != nil {
			return nil
		}
		for i := range blk.Transactions {
			if blk.Transactions[i].TxID() == id {
				return &blk.Transactions[i]
			}
		}
		return nil
	}
	if in != "" {
		if info, ok := s.findBlock(in); ok {
			if tx := look(info); tx != nil {
				return tx, info, true
			}
		}
	}
	tip := c.Tip()
	for h := tip.Height; h >= 0 && h > tip.Height-TxScanDepth; h-- {
		info, ok := c.BlockByHeight(h)
		if !ok {
			break
		}
		if tx := look(info); tx != nil {
			return tx, info, true
		}
	}
	return nil, node.BlockInfo{}, false
}

func (s *Server) txPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	h, err := chain.NewHashFromStr(id)
	if err != nil || len(id) != 2*chain.HashSize {
		s.notFound(w, "Not a transaction id: "+id+".")
		return
	}
	tx, info, ok := s.findTx(h, r.URL.Query().Get("block"))
	if !ok {
		s.notFound(w, fmt.Sprintf("No transaction %s in the last %d blocks of the best chain (the node keeps no transaction index).", id, TxScanDepth))
		return
	}
	s.render(w, http.StatusOK, "tx.html", view{Title: "Transaction", Body: txBody{Tx: txRow(tx), Block: info.Hash.String(), Height: info.Height}})
}

// addressBody is the address page's content.
type addressBody struct {
	Address  string
	Balance  string
	Sequence uint64
}

func (s *Server) addressPage(w http.ResponseWriter, r *http.Request) {
	a, err := chain.ParseAddress(r.PathValue("addr"))
	if err != nil {
		s.notFound(w, "Not an address: "+r.PathValue("addr")+".")
		return
	}
	acct := s.cfg.Chain.Account(a)
	s.render(w, http.StatusOK, "address.html", view{Title: "Address", Body: addressBody{Address: a.String(), Balance: coins(acct.Balance), Sequence: acct.Sequence}})
}

// search sends ?q= to the page it names: a height or a block hash to the
// block, a transaction id to the transaction, an address to its balance.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if _, ok := s.findBlock(q); ok {
		http.Redirect(w, r, "/block/"+q, http.StatusSeeOther)
		return
	}
	if len(q) == 2*chain.HashSize {
		if h, err := chain.NewHashFromStr(q); err == nil {
			if _, _, ok := s.findTx(h, ""); ok {
				http.Redirect(w, r, "/tx/"+q, http.StatusSeeOther)
				return
			}
		}
	}
	if _, err := chain.ParseAddress(q); err == nil {
		http.Redirect(w, r, "/address/"+q, http.StatusSeeOther)
		return
	}
	s.notFound(w, "Nothing found for "+q+": search a block height or hash, a transaction id, or an address.")
}
