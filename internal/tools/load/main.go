// Command load holds many kiosk sessions open against a tapd of its own and
// reports how tapd answers. It builds tapd (or uses -tapd), makes a
// temporary SQLite database (or uses -db, an empty PostgreSQL database),
// runs `tapd init`, starts `tapd serve` on a free loopback port, and
// through the API creates the users, their passes and the kiosks. Then:
//
//  1. setup: writes the -sessions people, their passes, the kiosks and the
//     open sessions straight into the store before tapd starts (with
//     -seed=false: makes them through the API and signs each in,
//     -signin-concurrency at a time; each pass and sign-in is an Argon2id
//     hash, ~25 ms of CPU and 19 MiB in tapd, so that takes minutes);
//  2. hold: every session polls GET /v1/session once per -poll-interval,
//     the sessions' polls spread evenly over the interval, for -duration;
//     alongside, -reg-rate people a second, spread evenly over the
//     duration, each sign in and register a security key (a virtual key
//     reached through real libfido2, as the kiosk does);
//  3. stops tapd and prints latency percentiles, status counts, and the
//     sign-ins, registrations and polls done per second.
//
// With -instances N it starts N tapd on the one database, each kiosk's
// requests going to one of them (kiosk i to instance i mod N), and with
// -pin, one CPU list per instance, pins each with taskset; with -cpu-quota
// C, holds each to C cores with a cgroup of its own (cgroup.go).
//
// With -scaling it measures instead how tapd scales across instances on
// one PostgreSQL database (scaling.go): polls and sign-ins a second at
// saturation, closed-loop, with one instance and then with -instances.
//
// It exits 1 when any request failed. Every request goes to 127.0.0.1 only,
// over at most -http-conns keep-alive connections (a real fleet holds one
// connection per kiosk; thousands of sockets are not what is measured
// here), and the whole run is bounded by -setup-timeout plus -duration.
//
//	go run ./internal/tools/load -sessions 5000 -duration 2m
//	go run ./internal/tools/load -db postgres://.../empty_db -sessions 5000
//	go run ./internal/tools/load -scaling -cpu-quota 0.3 -db postgres://.../empty_db
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
)

type config struct {
	sessions, kiosks, instances int
	regRate                     float64
	seed                        bool
	pin                         string
	duration, pollInterval      time.Duration
	setupTimeout                time.Duration
	db, tapd, keep, profile     string
	signinConc, httpConns       int
	tapdArgs                    string
	cpuQuota                    float64
	scaling                     scaling
}

// registrations is how many people register during the hold.
func (c config) registrations() int { return int(c.regRate * c.duration.Seconds()) }

func main() {
	var c config
	flag.IntVar(&c.sessions, "sessions", 1000, "sessions to open and hold")
	flag.DurationVar(&c.duration, "duration", time.Minute, "how long to hold them")
	flag.DurationVar(&c.pollInterval, "poll-interval", 5*time.Second, "each session polls GET /v1/session this often")
	flag.Float64Var(&c.regRate, "reg-rate", 20, "sign-ins + security key registrations per second during the hold, spread evenly")
	flag.BoolVar(&c.seed, "seed", true, "write the held sessions into the store before tapd starts; false: sign each in through the API")
	flag.IntVar(&c.instances, "instances", 1, "tapd instances on the one database")
	flag.StringVar(&c.pin, "pin", "", "pin instance i to the i-th of these CPU lists with taskset, separated by /: 0/1")
	flag.StringVar(&c.db, "db", "", "database URL; empty: a new SQLite file in a temporary folder. A PostgreSQL database must be empty")
	flag.StringVar(&c.tapd, "tapd", "", "tapd binary; empty: build ./cmd/tapd into the temporary folder")
	flag.StringVar(&c.tapdArgs, "tapd-args", "", "extra arguments for tapd serve, space-separated")
	flag.IntVar(&c.kiosks, "kiosks", 10, "kiosks the sessions are spread over")
	flag.IntVar(&c.signinConc, "signin-concurrency", 4, "passes made and sign-ins run at once during setup")
	flag.IntVar(&c.httpConns, "http-conns", 64, "most HTTP connections to tapd at once")
	flag.DurationVar(&c.setupTimeout, "setup-timeout", 20*time.Minute, "limit for everything before the hold")
	flag.Float64Var(&c.cpuQuota, "cpu-quota", 0, "hold each tapd instance to this many cores with a cgroup CPU quota of its own (e.g. 0.4; 0: no quota; needs root and cgroup v1 or v2)")
	flag.BoolVar(&c.scaling.on, "scaling", false, "measure scaling instead of the hold: polls and sign-ins per second at saturation with 1 tapd instance, then with -instances (at least 2) on one PostgreSQL database")
	flag.DurationVar(&c.scaling.phase, "phase", 20*time.Second, "-scaling: how long each rate is measured, after -warmup")
	flag.DurationVar(&c.scaling.warmup, "warmup", 5*time.Second, "-scaling: how long each phase runs before it is measured")
	flag.IntVar(&c.scaling.pollWorkers, "poll-workers", 32, "-scaling: closed-loop workers polling per instance")
	flag.IntVar(&c.scaling.signinWorkers, "signin-workers", 6, "-scaling: closed-loop workers signing in per instance (keep it under the pass checks tapd admits at once, or the rest get 503, and under the lockout's 50 guesses in flight per kiosk)")
	flag.IntVar(&c.scaling.people, "signin-people", 4000, "-scaling: people seeded to sign in, each once")
	flag.IntVar(&c.scaling.rounds, "rounds", 1, "-scaling: measure 1 then N instances this many times, alternating, and print each ratio and their median (tapd's CPU per request drifts by tens of percent between phases on a shared VM)")
	flag.BoolVar(&c.scaling.kioskAddrs, "kiosk-addresses", false, "-scaling: each kiosk connects from its own loopback address (127.0.1.N), as kiosks not behind one proxy do; else all share 127.0.0.1 and its lockout counter")
	flag.StringVar(&c.profile, "profile", "", "write tapd's CPU profile of the hold and its allocation and heap profiles at the end into this folder (instance 0, through --pprof-listen); with -scaling, instance 0's CPU profile of each measured phase")
	flag.StringVar(&c.keep, "keep", "", "keep the temporary folder (database, tapd log) at this path instead of deleting it")
	flag.Parse()
	if c.sessions < 1 || c.kiosks < 1 || c.signinConc < 1 || c.httpConns < 1 || c.pollInterval <= 0 || c.duration <= 0 || c.regRate < 0 || c.instances < 1 {
		fmt.Fprintln(os.Stderr, "load: -sessions, -kiosks, -signin-concurrency, -http-conns, -poll-interval, -duration and -instances must be positive, -reg-rate at least 0")
		os.Exit(2)
	}
	if c.scaling.on && c.instances < 2 {
		c.instances = 2
	}
	if c.cpuQuota < 0 || c.cpuQuota > float64(runtime.NumCPU()) {
		fmt.Fprintf(os.Stderr, "load: -cpu-quota must be between 0 (none) and the %d CPUs\n", runtime.NumCPU())
		os.Exit(2)
	}
	if c.scaling.on {
		if err := c.scaling.check(c); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(2)
		}
	}
	if c.pin != "" && len(strings.Split(c.pin, "/")) != c.instances {
		fmt.Fprintln(os.Stderr, "load: -pin needs one CPU list per instance, separated by /")
		os.Exit(2)
	}
	runner := run
	if c.scaling.on {
		runner = runScaling
	}
	failed, err := runner(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	if failed {
		fmt.Println("FAIL: some requests failed")
		os.Exit(1)
	}
	fmt.Println("OK: every request succeeded")
}

// ---- the run ----

type person struct {
	upn, pass string
	kiosk     string // kiosk token
	kioskNo   int    // load-kiosk-N (seeded runs)
}

func run(c config) (failed bool, err error) {
	// Interrupted, the run ends its hold early.
	ctx, dir, groups, end, err := begin(c, c.setupTimeout+c.duration+2*time.Minute)
	if err != nil {
		return false, err
	}
	defer end()

	pr, err := prepare(ctx, c, dir, c.db, c.duration, c.sessions, c.registrations())
	if err != nil {
		return false, err
	}
	bin, store, lifetime, seededRun := pr.bin, pr.store, pr.lifetime, pr.seeded
	ds, _, pprofAddr, err := startInstances(ctx, c, pr, dir, groups, c.instances, func(i int) string { return fmt.Sprintf("tapd%d.log", i) })
	stopped := false
	defer func() {
		if !stopped {
			for _, d := range ds {
				d.stop()
			}
		}
	}()
	if err != nil {
		return false, err
	}

	hc := httpClient(c.httpConns, nil)
	// Kiosk i's requests go to instance i mod N (load-kiosk-i in the store).
	kioskInstance := map[string]int{}
	client := func(tok string) *api.Client {
		k := api.NewClient(ds[kioskInstance[tok]%len(ds)].url, tok)
		k.HTTP = hc
		return k
	}
	admin := client(pr.adminToken)
	urls := make([]string, len(ds))
	for i, d := range ds {
		urls[i] = d.url
	}
	fmt.Printf("tapd %s on %s (pinned: %q, CPU quota %s), store %s; %d sessions on %d kiosks, polls every %s for %s, %g registrations/s (%d)\n",
		bin, strings.Join(urls, " "), c.pin, quotaText(c.cpuQuota), store, c.sessions, c.kiosks, c.pollInterval, c.duration, c.regRate, c.registrations())

	signins := &series{name: "setup sign-ins"}
	holders := make([]*api.Client, c.sessions)
	var regPeople []person
	if c.seed {
		if err := enablePolicy(ctx, admin, lifetime); err != nil {
			return false, err
		}
		for _, p := range seededRun.held {
			kioskInstance[p.kiosk] = p.kioskNo
		}
		for i, p := range seededRun.held {
			holders[i] = client(p.kiosk)
			holders[i].SessionToken = p.pass
		}
		regPeople = seededRun.people
	} else {
		setupStart := time.Now()
		sctx, scancel := context.WithTimeout(ctx, c.setupTimeout)
		defer scancel()
		people, err := setup(sctx, c, admin, lifetime, func(i int, tok string) { kioskInstance[tok] = i })
		if err != nil {
			return false, fmt.Errorf("setup: %w", err)
		}
		fmt.Printf("users, passes and kiosks made in %s\n", time.Since(setupStart).Round(time.Millisecond))
		t := time.Now()
		err = parallel(sctx, c.sessions, c.signinConc, func(i int) error {
			p := people[i]
			k := client(p.kiosk)
			if err := signins.time(func() error { _, err := k.OpenSession(sctx, p.upn, p.pass); return err }); err != nil {
				return fmt.Errorf("sign in %s: %w", p.upn, err)
			}
			holders[i] = k
			return nil
		})
		if err != nil {
			signins.report(os.Stdout)
			return true, err
		}
		fmt.Printf("%d sessions open in %s\n", c.sessions, time.Since(t).Round(time.Millisecond))
		regPeople = people[c.sessions:]
	}

	// The hold.
	polls := &series{name: "polls"}
	holdSignins := &series{name: "sign-ins (hold)"}
	options := &series{name: "creationOptions"}
	registers := &series{name: "registrations"}
	keyErrs := &series{name: "virtual key"}
	var late atomic.Int64
	hctx, hcancel := context.WithTimeout(ctx, c.duration)
	defer hcancel()
	before := make([]procStats, len(ds))
	for i, d := range ds {
		before[i] = readProc(d.cmd.Process.Pid)
	}
	loadBefore := loadAverage()
	holdStart := time.Now()
	var wg sync.WaitGroup
	var prof *profiler
	if c.profile != "" {
		prof = startProfile(pprofAddr, c.profile, "cpu.pprof", c.duration)
	}
	for i, k := range holders {
		wg.Add(1)
		go func(i int, k *api.Client) {
			defer wg.Done()
			next := holdStart.Add(c.pollInterval * time.Duration(i) / time.Duration(c.sessions))
			for {
				wait := time.Until(next)
				if wait < 0 && -wait > c.pollInterval/10 {
					late.Add(1) // the last poll ran past this one's slot
				}
				select {
				case <-hctx.Done():
					return
				case <-time.After(max(wait, 0)):
				}
				// A poll started before the end finishes: no poll is cut short.
				polls.time(func() error { _, err := k.GetSession(context.Background()); return err })
				next = next.Add(c.pollInterval)
			}
		}(i, k)
	}
	for i, p := range regPeople {
		wg.Add(1)
		go func(i int, p person) {
			defer wg.Done()
			at := holdStart.Add(c.duration * time.Duration(2*i+1) / time.Duration(2*len(regPeople)))
			select {
			case <-hctx.Done():
				return
			case <-time.After(time.Until(at)):
			}
			register(c, client(p.kiosk), p, i, holdSignins, options, registers, keyErrs)
		}(i, p)
	}
	wg.Wait()
	hold := time.Since(holdStart)
	after := make([]procStats, len(ds))
	for i, d := range ds {
		after[i] = readProc(d.cmd.Process.Pid)
	}
	if prof != nil {
		if err := prof.finish(); err != nil {
			fmt.Println("profile:", err)
		} else {
			fmt.Printf("profiles of tapd 0 in %s: go tool pprof -top %s\n", c.profile, filepath.Join(c.profile, "cpu.pprof"))
		}
	}

	stopped = true
	var stopErr error
	for _, d := range ds {
		if err := d.stop(); err != nil {
			stopErr = err
		}
	}

	fmt.Printf("\nhold: %s; load average (1 min) %s at the start, %s at the end, on %d CPUs\n",
		hold.Round(time.Millisecond), loadBefore, loadAverage(), runtime.NumCPU())
	for i := range ds {
		fmt.Printf("tapd %d used %.2f CPU-seconds per second, RSS %d MB at the end (peak %d MB), %d open files at the end\n",
			i, (after[i].cpu-before[i].cpu).Seconds()/hold.Seconds(), after[i].rssKB/1024, after[i].peakKB/1024, after[i].fds)
	}
	if n := late.Load(); n > 0 {
		fmt.Printf("%d polls started more than a tenth of an interval after their slot (the previous poll of that session was still running)\n", n)
	}
	errs := 0
	for _, s := range []*series{signins, polls, holdSignins, options, registers, keyErrs} {
		if s.report(os.Stdout) {
			failed = true
		}
		errs += s.failures()
	}
	fmt.Printf("failed requests: %d\n", errs)
	fmt.Printf("done per second of hold: %.1f polls, %.1f sign-ins, %.1f registrations (asked for %g)\n",
		polls.okRate(hold), holdSignins.okRate(hold), registers.okRate(hold), c.regRate)
	// CPU per request holds still when the machine is shared and the
	// latencies do not: it says what a core of tapd's would carry.
	var cpu time.Duration
	faults := 0
	for i := range ds {
		cpu += after[i].cpu - before[i].cpu
		faults += after[i].minflt - before[i].minflt
	}
	if n := polls.len() + holdSignins.len() + options.len() + registers.len(); n > 0 {
		fmt.Printf("tapd CPU per request: %.3f ms, %.1f minor page faults per request (%d requests, all instances)\n",
			float64(cpu.Microseconds())/1000/float64(n), float64(faults)/float64(n), n)
	}
	if stopErr != nil {
		fmt.Println("tapd stop:", stopErr)
		failed = true
	}
	if c.keep != "" {
		fmt.Println("kept", c.keep)
	}
	return failed, nil
}
