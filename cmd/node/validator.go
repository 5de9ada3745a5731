package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/powmine/powmine/chain"
	"github.com/powmine/powmine/chain/daemon"
	"github.com/powmine/powmine/chain/wallet"
	"github.com/powmine/powmine/internal/cli"
	"github.com/powmine/powmine/internal/jsonrpc"
)

// validatorUsage is the usage error of "node validator" without a known
// subcommand.
const validatorUsage = "usage: node validator keygen --out FILE | deposit --amount X --key FILE | withdraw [--amount X] --key FILE (node validator SUBCOMMAND -h)"

// validatorCmd handles "node validator keygen|deposit|withdraw".
//
// A validator key file has the format of a wallet key file (chain/wallet):
// the ed25519 key sealed under a passphrase, mode 0600, never written
// over an existing file. deposit and withdraw sign with the wallet's key,
// the validator's owner, which pays the stake and gets it back; deposit
// also opens the validator key, whose signature is the proof of
// possession, and withdraw needs only its public key (no passphrase).
// withdraw takes the whole stake back (the validator leaves) unless
// --amount names a part, which must leave the network's minimum deposit
// staked; the node is asked first, so that a withdraw it would refuse is
// refused here with the reason, before anything is signed.
func validatorCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return cli.Usagef(validatorUsage)
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fmt.Fprintln(stderr, validatorUsage)
		return errHelp
	case "keygen":
		return validatorKeygen(args[1:], stdin, stdout, stderr)
	case "deposit", "withdraw":
		return validatorStake(ctx, args[0], args[1:], stdin, stdout, stderr)
	}
	return cli.Usagef(validatorUsage)
}

// validatorKeygen writes a new validator key file and prints its public
// key.
func validatorKeygen(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("node validator keygen", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "", "validator key file to create (refuses to overwrite)")
	passFile := fs.String("key-passphrase-file", "", "read the key's passphrase from this file (default: one line on standard input)")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *out == "" {
		return cli.Usagef("--out FILE is required: the validator key file to create")
	}
	if _, err := os.Lstat(*out); err == nil {
		return fmt.Errorf("%s exists: a validator key file is never overwritten", *out)
	}
	pass, err := readKeyPassphrase(*passFile, "validator key passphrase: ", bufio.NewReader(stdin), stderr)
	if err != nil {
		return err
	}
	k, err := wallet.New(pass, nil)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o700); err != nil {
		return err
	}
	if err := k.Save(*out); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists: a validator key file is never overwritten", *out)
		}
		return err
	}
	fmt.Fprintf(stderr, "validator key file %s written\n", *out)
	fmt.Fprintln(stdout, k.PublicKey())
	return nil
}

// validatorStake builds, signs and submits a deposit or a withdraw, and
// prints its txid.
func validatorStake(ctx context.Context, cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("node validator "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	amountHelp := "stake to lock in coins, e.g. 10 (at least the network's minimum deposit)"
	if cmd == "withdraw" {
		amountHelp = "stake to take back in coins, e.g. 5, leaving at least the minimum deposit (default: all of it, and the validator leaves)"
	}
	amount := fs.String("amount", "", amountHelp)
	keyPath := fs.String("key", "", "validator key file (node validator keygen)")
	keyPassFile := fs.String("key-passphrase-file", "", "read the validator key's passphrase from this file (default: a line on standard input, after the wallet's)")
	fee := fs.String("fee", "0.0001", "fee in coins")
	path := fs.String("wallet", daemon.DefaultWallet(), "key file of the owner, who pays the stake and gets it back")
	passFile := fs.String("passphrase-file", "", "read the wallet's passphrase from this file (default: one line on standard input)")
	url := fs.String("rpc", "http://127.0.0.1:18443", "node RPC URL")
	user := fs.String("rpcuser", "", "RPC user (default: the cookie in --datadir)")
	pass := fs.String("rpcpassword", "", "RPC password")
	dataDir := fs.String("datadir", daemon.DefaultDataDir("dev"), "node data directory holding the RPC cookie")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *keyPath == "" {
		return cli.Usagef("--key FILE is required: the validator key file (node validator keygen)")
	}
	units, err := parseStakeAmount(cmd, *amount)
	if err != nil {
		return err
	}
	feeUnits, err := parseCoins(*fee)
	if err != nil {
		return cli.Usagef("bad --fee: %v", err)
	}
	// Read the validator key's public key first: a missing or corrupt
	// file is reported before any passphrase is asked for.
	valPub, err := wallet.ReadPublicKey(*keyPath)
	if err != nil {
		return fmt.Errorf("validator key: %w", err)
	}
	if *user == "" {
		if *user, *pass, err = jsonrpc.ReadCookie(filepath.Join(*dataDir, ".cookie")); err != nil {
			return err
		}
	}
	in := bufio.NewReader(stdin) // one reader: both passphrases may come from stdin
	walletPass, err := readKeyPassphrase(*passFile, "wallet passphrase: ", in, stderr)
	if err != nil {
		return err
	}
	owner, err := wallet.Load(*path, walletPass)
	if err != nil {
		return err
	}
	var tx chain.Transaction
	client := jsonrpc.NewClient(*url, *user, *pass)
	network, sequence, err := stakeContext(ctx, client, owner.Address())
	if err != nil {
		return err
	}
	if cmd == "withdraw" && units != 0 {
		if err := checkPartialWithdraw(ctx, client, valPub, owner.Address(), units); err != nil {
			return err
		}
	}
	if cmd == "deposit" {
		keyPass, err := readKeyPassphrase(*keyPassFile, "validator key passphrase: ", in, stderr)
		if err != nil {
			return err
		}
		valPriv, err := wallet.LoadValidatorKey(*keyPath, keyPass)
		if err != nil {
			return fmt.Errorf("validator key: %w", err)
		}
		d := &chain.Deposit{Amount: units, Fee: feeUnits, Sequence: sequence}
		if err := owner.SignDeposit(d, valPriv, network); err != nil {
			return err
		}
		tx.Deposit = d
	} else {
		w := &chain.Withdraw{Validator: valPub, Amount: units, Fee: feeUnits, Sequence: sequence}
		if err := owner.SignWithdraw(w, network); err != nil {
			return err
		}
		tx.Withdraw = w
	}
	raw, err := tx.MarshalBinary()
	if err != nil {
		return err
	}
	var txid string
	if err := client.Call(ctx, "sendrawtransaction", &txid, hex.EncodeToString(raw)); err != nil {
		return fmt.Errorf("node refused the %s: %w", cmd, err)
	}
	fmt.Fprintln(stdout, txid)
	return nil
}

// parseStakeAmount parses the --amount of cmd: required and positive for
// a deposit; for a withdraw optional (0, the whole stake, when absent)
// but positive when given.
func parseStakeAmount(cmd, amount string) (uint64, error) {
	if amount == "" {
		if cmd == "deposit" {
			return 0, cli.Usagef("--amount X is required: the coins to lock as stake, e.g. 10")
		}
		return 0, nil
	}
	units, err := parseCoins(amount)
	switch {
	case err != nil:
		return 0, cli.Usagef("bad --amount: %v", err)
	case units == 0 && cmd == "deposit":
		return 0, cli.Usagef("bad --amount: a deposit must lock some coins")
	case units == 0:
		return 0, cli.Usagef("bad --amount: leave --amount out to withdraw the whole stake")
	}
	return units, nil
}

// checkPartialWithdraw asks the node (getvalidator) for the state of
// validator key and refuses a withdraw of units by owner that the node
// would refuse (chain.CheckWithdrawState, the rule the node applies),
// saying why in coins: a key the owner does not hold, a validator
// already leaving, a partial withdraw still pending, or a stake left
// below the minimum deposit (with the most that may be taken).
func checkPartialWithdraw(ctx context.Context, client *jsonrpc.Client, key chain.PublicKey, owner chain.Address, units uint64) error {
	var got struct {
		Owner                          string
		Stake, Withdrawing, MinDeposit json.Number
		ActivationEpoch, ExitEpoch     uint64
		UnlockEpoch                    uint64
	}
	if err := client.Call(ctx, "getvalidator", &got, key.String()); err != nil {
		return err
	}
	ownerAddr, err0 := chain.ParseAddress(got.Owner)
	stake, err1 := parseCoins(got.Stake.String())
	withdrawing, err2 := parseCoins(got.Withdrawing.String())
	minimum, err3 := parseCoins(got.MinDeposit.String())
	if err := errors.Join(err0, err1, err2, err3); err != nil {
		return fmt.Errorf("node sent a bad validator state: %w", err)
	}
	// The rule reads the pending withdraw's epoch only to say when it
	// unlocks, which getvalidator gives; any epoch marks it pending.
	v := chain.Validator{Owner: ownerAddr, Stake: stake, ActivationEpoch: got.ActivationEpoch, ExitEpoch: got.ExitEpoch,
		Withdrawing: withdrawing, WithdrawEpoch: got.UnlockEpoch}
	err := chain.CheckWithdrawState(v, &chain.Withdraw{Validator: key, Amount: units}, owner, &chain.Params{MinDeposit: minimum})
	var rerr chain.RuleError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &rerr):
		return err
	case rerr.Code == chain.ErrNotValidatorOwner:
		return fmt.Errorf("validator %v belongs to %s, not to this wallet (%v)", key, got.Owner, owner)
	case rerr.Code == chain.ErrValidatorExiting:
		return fmt.Errorf("validator %v is already leaving (exit epoch %d)", key, got.ExitEpoch)
	case rerr.Code == chain.ErrWithdrawPending:
		return fmt.Errorf("validator %v has a withdraw of %s coins pending until epoch %d: one at a time", key, got.Withdrawing, got.UnlockEpoch)
	case rerr.Code == chain.ErrStakeBelowMinimum:
		return fmt.Errorf("withdrawing %s coins from a stake of %s would leave less than the minimum deposit of %s: withdraw at most %s, or all of it (no --amount)",
			coinText(units), got.Stake, got.MinDeposit, coinText(stake-min(stake, minimum)))
	}
	return err
}

// coinText writes units as coins with 8 decimals.
func coinText(units uint64) string {
	return fmt.Sprintf("%d.%08d", units/chain.BaseUnitsPerCoin, units%chain.BaseUnitsPerCoin)
}

// stakeContext asks the node for what a signed transaction of owner needs:
// the network's genesis hash (the signatures cover it, so no replay on
// another chain) and the owner's next sequence number.
func stakeContext(ctx context.Context, client *jsonrpc.Client, owner chain.Address) (chain.Hash, uint64, error) {
	var genesis string
	if err := client.Call(ctx, "getblockhash", &genesis, 0); err != nil {
		return chain.Hash{}, 0, err
	}
	network, err := chain.NewHashFromStr(genesis)
	if err != nil {
		return chain.Hash{}, 0, fmt.Errorf("node sent a bad genesis hash: %w", err)
	}
	var acct struct {
		NextSequence uint64 `json:"nextsequence"`
	}
	if err := client.Call(ctx, "getaccount", &acct, owner.String()); err != nil {
		return chain.Hash{}, 0, err
	}
	return network, acct.NextSequence, nil
}

// readKeyPassphrase reads a passphrase from file, or else prompts on
// stderr and reads one line of in, which the caller shares between
// prompts so that a line buffered for one is not lost to the next.
func readKeyPassphrase(file, prompt string, in *bufio.Reader, stderr io.Writer) ([]byte, error) {
	if file != "" {
		return readPassphrase(file, nil, stderr)
	}
	fmt.Fprint(stderr, prompt)
	return readPassphrase("", in, io.Discard)
}
