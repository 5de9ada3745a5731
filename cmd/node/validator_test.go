package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/daemon"
	"github.com/powmine/powmine/chain/wallet"
	"github.com/powmine/powmine/internal/cli"
	"github.com/powmine/powmine/internal/jsonrpc"
	"github.com/powmine/powmine/miner"
	"github.com/powmine/powmine/miner/solo"
)

// TestValidatorKeygen: keygen writes a key file of mode 0600 that
// LoadValidatorKey opens, prints its public key, and refuses to
// overwrite it.
func TestValidatorKeygen(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "sub", "validator.json")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"validator", "keygen", "--out", keyPath}, strings.NewReader("validator pass\n"), &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	st, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	priv, err := wallet.LoadValidatorKey(keyPath, []byte("validator pass"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(out.String()), chain.PublicKey(priv.Public().(ed25519.PublicKey)).String(); got != want {
		t.Fatalf("keygen printed %q, want the public key %s", got, want)
	}
	before, _ := os.ReadFile(keyPath)
	err = run(context.Background(), []string{"validator", "keygen", "--out", keyPath}, strings.NewReader("other\n"), &out, &errOut)
	var ue cli.UsageError
	if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "never overwritten") {
		t.Fatalf("second keygen: %v, want a refusal to overwrite", err)
	}
	if after, _ := os.ReadFile(keyPath); !bytes.Equal(before, after) {
		t.Fatal("key file changed")
	}
}

// TestValidatorDepositWithdraw is a validator's path end to end against a
// node on 127.0.0.1: a wallet mined to, a validator key, "node validator
// deposit", the deposit mined and the validator in getvalidators with its
// stake from the next epoch on, then "node validator withdraw --amount":
// one that would leave less than the minimum refused before it is sent,
// a good one shown pending, lowering the weight at the next epoch and
// unlocked later, a second one refused while it is pending; then "node
// validator withdraw", the validator gone from the set and its stake
// unlocked. The node runs the
// dev chain with 2-block epochs, so that this takes a few blocks.
func TestValidatorDepositWithdraw(t *testing.T) {
	dir := t.TempDir()
	walletPath := filepath.Join(dir, "w.json")
	keyPath := filepath.Join(dir, "validator.json")
	passFile := filepath.Join(dir, "pass")
	keyPassFile := filepath.Join(dir, "keypass")
	os.WriteFile(passFile, []byte("owner pass\n"), 0o600)
	os.WriteFile(keyPassFile, []byte("validator pass\n"), 0o600)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"wallet", "new", "--wallet", walletPath, "--passphrase-file", passFile}, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	owner, err := chain.ParseAddress(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"validator", "keygen", "--out", keyPath, "--key-passphrase-file", keyPassFile}, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	valPub, err := wallet.ReadPublicKey(keyPath)
	if err != nil || strings.TrimSpace(out.String()) != valPub.String() {
		t.Fatalf("keygen printed %q, file holds %v (%v)", out.String(), valPub, err)
	}

	params, err := daemon.DevParams(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	params.EpochLength = 2
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.New(daemon.Config{Params: params, DataDir: dir, RPCListener: ln})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nodeDone := make(chan error, 1)
	go func() { nodeDone <- d.Run(ctx) }()
	defer func() { cancel(); <-nodeDone; d.Close() }()
	url := "http://" + ln.Addr().String()
	user, pass, err := jsonrpc.ReadCookie(filepath.Join(dir, ".cookie"))
	if err != nil {
		t.Fatal(err)
	}
	client := jsonrpc.NewClient(url, user, pass)
	m, err := miner.New(miner.Config{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	go m.Run(ctx)
	go solo.Run(ctx, solo.Config{Client: client, Payout: owner, Miner: m})

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(120 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	waitFor("a mined reward", func() bool { return d.Node().Account(owner).Balance >= params.InitialSubsidy })

	rpcArgs := []string{"--wallet", walletPath, "--passphrase-file", passFile, "--rpc", url, "--datadir", dir}
	stake := func(args ...string) (string, error) {
		out.Reset()
		errOut.Reset()
		err := run(ctx, append(append([]string{"validator"}, args...), rpcArgs...), nil, &out, &errOut)
		return strings.TrimSpace(out.String()), err
	}

	// Below the minimum deposit: the node refuses it, and says why.
	if _, err := stake("deposit", "--amount", "9.99999999", "--key", keyPath, "--key-passphrase-file", keyPassFile); err == nil ||
		!strings.Contains(err.Error(), "MinDeposit") {
		t.Fatalf("deposit below MinDeposit: %v, want the node's refusal naming MinDeposit", err)
	}

	// The deposit, both passphrases on standard input.
	out.Reset()
	args := []string{"validator", "deposit", "--amount", "12.5", "--key", keyPath, "--fee", "0.001",
		"--rpc", url, "--datadir", dir, "--wallet", walletPath}
	if err := run(ctx, args, strings.NewReader("owner pass\nvalidator pass\n"), &out, &errOut); err != nil {
		t.Fatalf("deposit: %v\n%s", err, errOut.String())
	}
	if _, err := chain.NewHashFromStr(strings.TrimSpace(out.String())); err != nil {
		t.Fatalf("deposit printed %q, not a txid", out.String())
	}
	type setEntry struct {
		Key         string      `json:"key"`
		Owner       string      `json:"owner"`
		Stake       json.Number `json:"stake"`
		Withdrawing json.Number `json:"withdrawing"`
		UnlockEpoch uint64      `json:"unlockepoch"`
	}
	entry := func() (setEntry, bool) {
		var set struct {
			Validators []setEntry `json:"validators"`
		}
		if err := client.Call(ctx, "getvalidators", &set); err != nil {
			t.Fatal(err)
		}
		for _, v := range set.Validators {
			if v.Key == valPub.String() {
				if v.Owner != owner.String() {
					t.Fatalf("validator owned by %s, want %s", v.Owner, owner)
				}
				return v, true
			}
		}
		return setEntry{}, false
	}
	inSet := func() (string, bool) {
		v, ok := entry()
		return v.Stake.String(), ok
	}
	var shown string
	waitFor("the validator in getvalidators", func() bool {
		var ok bool
		shown, ok = inSet()
		return ok
	})
	if units, err := parseCoins(shown); err != nil || units != 1_250_000_000 {
		t.Fatalf("getvalidators shows stake %q, want 12.5", shown)
	}

	// A partial withdraw that would leave less than MinDeposit (10) is
	// refused before anything is signed or sent.
	nextSequence := func() uint64 {
		var acct struct{ NextSequence uint64 }
		if err := client.Call(ctx, "getaccount", &acct, owner.String()); err != nil {
			t.Fatal(err)
		}
		return acct.NextSequence
	}
	seq := nextSequence()
	if _, err := stake("withdraw", "--amount", "3", "--key", keyPath); err == nil ||
		!strings.Contains(err.Error(), "minimum deposit") || !strings.Contains(err.Error(), "at most 2.50000000") {
		t.Fatalf("withdraw of 3 of 12.5: %v, want a refusal naming the minimum deposit and the most allowed", err)
	}
	if nextSequence() != seq {
		t.Fatal("the refused withdraw was sent")
	}
	// A partial withdraw of 2: the validator stays, shown with the amount
	// and its unlock epoch, weighs 10.5 from the next epoch, and the 2
	// coins leave its stake at the unlock.
	if txid, err := stake("withdraw", "--amount", "2", "--key", keyPath); err != nil {
		t.Fatalf("withdraw --amount 2: %v\n%s", err, errOut.String())
	} else if _, err := chain.NewHashFromStr(txid); err != nil {
		t.Fatalf("withdraw printed %q, not a txid", txid)
	}
	waitFor("the pending withdraw in getvalidators", func() bool {
		v, _ := entry()
		return v.Withdrawing.String() == "2.00000000" && v.UnlockEpoch != 0
	})
	if _, err := stake("withdraw", "--amount", "0.5", "--key", keyPath); err == nil || !strings.Contains(err.Error(), "pending") {
		t.Fatalf("a second partial withdraw: %v, want a refusal saying one is pending", err)
	}
	waitFor("the weight of 10.5", func() bool { s, _ := inSet(); return s == "10.50000000" })
	waitFor("the 2 coins unlocked", func() bool {
		v := d.Node().Validator(valPub)
		return v.Stake == 1_050_000_000 && v.Withdrawing == 0
	})

	// The withdraw: the validator leaves at the next epoch and its stake
	// unlocks WithdrawDelayEpochs later.
	txid, err := stake("withdraw", "--key", keyPath)
	if err != nil {
		t.Fatalf("withdraw: %v\n%s", err, errOut.String())
	}
	if _, err := chain.NewHashFromStr(txid); err != nil {
		t.Fatalf("withdraw printed %q, not a txid", txid)
	}
	waitFor("the validator out of getvalidators", func() bool { _, ok := inSet(); return !ok })
	waitFor("the stake unlocked", func() bool { return d.Node().Validator(valPub) == chain.Validator{} })

	// A second withdraw of a validator that is gone is refused.
	if _, err := stake("withdraw", "--key", keyPath); err == nil {
		t.Fatal("withdraw of an unregistered validator accepted")
	}
}

// TestValidatorBadInput: usage errors (exit status 2) and clear runtime
// errors (exit status 1) before anything is sent.
func TestValidatorBadInput(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.json")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"validator"}, 2, "usage: node validator"},
		{[]string{"validator", "bogus"}, 2, "usage: node validator"},
		{[]string{"validator", "keygen"}, 2, "--out FILE is required"},
		{[]string{"validator", "keygen", "--out", "x", "extra"}, 2, "unexpected argument"},
		{[]string{"validator", "deposit", "--amount", "10"}, 2, "--key FILE is required"},
		{[]string{"validator", "deposit", "--key", missing}, 2, "--amount X is required"},
		{[]string{"validator", "deposit", "--key", missing, "--amount", "ten"}, 2, "bad --amount"},
		{[]string{"validator", "deposit", "--key", missing, "--amount", "-1"}, 2, "bad --amount"},
		{[]string{"validator", "deposit", "--key", missing, "--amount", "0"}, 2, "bad --amount"},
		{[]string{"validator", "deposit", "--key", missing, "--amount", "10", "--fee", "x"}, 2, "bad --fee"},
		{[]string{"validator", "withdraw", "--amount", "ten", "--key", missing}, 2, "bad --amount"},
		{[]string{"validator", "withdraw", "--amount", "0", "--key", missing}, 2, "leave --amount out"},
		{[]string{"validator", "withdraw", "--amount", "1.000000001", "--key", missing}, 2, "bad --amount"},
		{[]string{"validator", "withdraw"}, 2, "--key FILE is required"},
		{[]string{"validator", "deposit", "-h"}, 0, "-key-passphrase-file"},
		{[]string{"validator", "-h"}, 0, "usage: node validator keygen"},
		{[]string{"validator", "keygen", "-h"}, 0, "-out"},
		{[]string{"validator", "deposit", "--key", missing, "--amount", "10", "--datadir", dir}, 1, missing},
		{[]string{"validator", "withdraw", "--key", missing, "--datadir", dir}, 1, missing},
		{[]string{"validator", "withdraw", "--amount", "1", "--key", missing, "--datadir", dir}, 1, missing},
	} {
		code, stderr := runNode(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("node %q: exit %d, want %d with %q on stderr:\n%s", c.args, code, c.code, c.want, stderr)
		}
	}
}

// TestValidatorKeyFlag: --validator-key opens the key with the
// passphrase of --validator-key-passphrase-file and makes the node a
// validator under that key; the two flags go together (usage errors,
// before anything is written), and a wrong passphrase stops the node
// with an error that names the key file.
func TestValidatorKeyFlag(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "validator.json")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"validator", "keygen", "--out", keyPath}, strings.NewReader("right\n"), &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	pub := strings.TrimSpace(out.String())
	good, bad := filepath.Join(dir, "good.pass"), filepath.Join(dir, "bad.pass")
	if err := os.WriteFile(good, []byte("right\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--validator-key", keyPath}, 2, "needs --validator-key-passphrase-file"},
		{[]string{"--validator-key-passphrase-file", good}, 2, "needs --validator-key"},
		{[]string{"--validator-key", keyPath, "--validator-key-passphrase-file", bad}, 1, keyPath},
		{[]string{"--validator-key", filepath.Join(dir, "none.json"), "--validator-key-passphrase-file", good}, 1, "none.json"},
	} {
		args := append([]string{"--dev", "--datadir", dataDir, "--listen", "", "--rpc", ""}, c.args...)
		code, stderr := runNode(t, args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("node %q: exit %d, want %d with %q on stderr:\n%s", c.args, code, c.code, c.want, stderr)
		}
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("a refused start left the data directory: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--dev", "--datadir", dataDir, "--listen", "", "--rpc", freeAddr(t),
			"--validator-key", keyPath, "--validator-key-passphrase-file", good}, strings.NewReader(""), io.Discard, &stderr)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), "validator started") || !strings.Contains(stderr.String(), pub) {
		select {
		case err := <-done:
			t.Fatalf("node stopped: %v\n%s", err, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no \"validator started\" with key %s in 30 s:\n%s", pub, stderr.String())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
}

// TestConsensusPoSFlag: --consensus takes pow or pos; pos refuses
// --stratum and needs --validator-key to create a chain; node --dev
// --consensus pos with a validator key creates a chain whose genesis
// stakes that key and proposes its blocks (the only validator is elected
// in every slot); the data directory then refuses --consensus pow.
func TestConsensusPoSFlag(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "validator.json")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"validator", "keygen", "--out", keyPath}, strings.NewReader("right\n"), &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	pass := filepath.Join(dir, "good.pass")
	if err := os.WriteFile(pass, []byte("right\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--consensus", "pop"}, "must be pow or pos"},
		{[]string{"--consensus", "pos"}, "needs --validator-key"},
		{[]string{"--consensus", "pos", "--stratum", "127.0.0.1:0", "--stratum-payout", "x"}, "not with --consensus pos"},
	} {
		args := append([]string{"--dev", "--datadir", dataDir, "--listen", "", "--rpc", ""}, c.args...)
		code, stderr := runNode(t, args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("node %q: exit %d, want 2 with %q on stderr:\n%s", c.args, code, c.want, stderr)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--dev", "--consensus", "pos", "--datadir", dataDir, "--listen", "", "--rpc", freeAddr(t),
			"--validator-key", keyPath, "--validator-key-passphrase-file", pass}, strings.NewReader(""), io.Discard, &stderr)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), "proposer: block") {
		select {
		case err := <-done:
			t.Fatalf("node stopped: %v\n%s", err, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no proposed block in 30 s:\n%s", stderr.String())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	code, serr := runNode(t, "--dev", "--datadir", dataDir, "--listen", "", "--rpc", "")
	if code != 1 || !strings.Contains(serr, "holds a pos chain") {
		t.Errorf("--consensus pow on the pos chain: exit %d:\n%s", code, serr)
	}
}
