// The -scaling run: how many polls and sign-ins a second tapd answers at
// saturation with one instance, and then with several on the same
// PostgreSQL database, each instance held to -cpu-quota cores.

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tapkiosk/tapkiosk/api"
	"github.com/tapkiosk/tapkiosk/internal/pgtest"
)

type scaling struct {
	on                         bool
	phase, warmup              time.Duration
	pollWorkers, signinWorkers int
	people, rounds             int
	kioskAddrs                 bool
}

func (s scaling) check(c config) error {
	switch {
	case s.phase <= 0 || s.warmup < 0:
		return errors.New("-phase must be positive and -warmup at least 0")
	case s.pollWorkers < 1 || s.signinWorkers < 1 || s.people < 1 || s.rounds < 1:
		return errors.New("-poll-workers, -signin-workers, -signin-people and -rounds must be positive")
	case !c.seed:
		return errors.New("-scaling seeds the store; it does not run with -seed=false")
	case c.db != "" && !strings.HasPrefix(c.db, "postgres://") && !strings.HasPrefix(c.db, "postgresql://"):
		return errors.New("-scaling measures instances on one PostgreSQL database: give -db postgres://... (an empty database), or no -db for a throwaway cluster")
	case s.kioskAddrs && c.kiosks > 254:
		return errors.New("-kiosk-addresses gives each kiosk one of 127.0.1.1-254: at most 254 kiosks")
	case c.kiosks < c.instances:
		return fmt.Errorf("-scaling needs a kiosk per instance at least: -kiosks %d for -instances %d", c.kiosks, c.instances)
	case c.sessions < c.kiosks:
		// Session i is kiosk i mod -kiosks's, so each instance polls some.
		return fmt.Errorf("-scaling needs a held session per kiosk at least: -sessions %d for -kiosks %d", c.sessions, c.kiosks)
	}
	return nil
}

// total is how long the measuring lasts: in each round two phases (1
// instance, then N), each polls and then sign-ins.
func (s scaling) total() time.Duration { return time.Duration(4*s.rounds) * (s.warmup + s.phase) }

// median of xs (not empty).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// errRanOut ends a sign-in worker whose next seeded person does not exist.
var errRanOut = errors.New("ran out of seeded people to sign in (raise -signin-people)")

// rate is one measured workload on one phase.
type rate struct {
	instances int
	perSec    float64
	tapd      []float64 // cores used, per instance
	throttled []float64 // share of CFS periods in which the instance ran out of quota; -1: no quota
	pg, self  float64   // cores: the PostgreSQL cluster's (-1: unknown), the load tool's
	idle      float64   // the machine's idle share
	steal     float64   // the share the hypervisor took
	waits     waits     // what PostgreSQL's backends on the database did
	s         *series
}

// snapshot is the counters read at the start and the end of a measurement.
type snapshot struct {
	at   time.Time
	ok   int64
	tapd []time.Duration
	thr  []throttling
	pg   map[int]time.Duration
	self time.Duration
	cpu  cpuTimes
}

func runScaling(c config) (failed bool, err error) {
	ctx, dir, groups, end, err := begin(c, c.setupTimeout+c.scaling.total()+3*time.Minute)
	if err != nil {
		return false, err
	}
	defer end()
	db := c.db
	if db == "" {
		// pgtest's cluster: fsync and synchronous commit off, as for tests.
		fmt.Println("starting a throwaway PostgreSQL cluster (fsync off)")
		srv, err := pgtest.Start()
		if err != nil {
			return false, err
		}
		defer srv.Stop()
		if db, err = srv.NewDatabase(ctx); err != nil {
			return false, err
		}
	}
	pr, err := prepare(ctx, c, dir, db, c.scaling.total(), c.sessions, c.scaling.people)
	if err != nil {
		return false, err
	}
	pg := postmaster(ctx, db)
	addrs := "all from 127.0.0.1"
	if c.scaling.kioskAddrs {
		addrs = "each from its own address"
	}
	fmt.Printf("tapd %s, %d held sessions and %d people on %d kiosks (%s); CPU quota %s, pinned %q; %d poll and %d sign-in workers per instance; %s warm-up, %s measured\n",
		pr.bin, c.sessions, c.scaling.people, c.kiosks, addrs, quotaText(c.cpuQuota), c.pin, c.scaling.pollWorkers, c.scaling.signinWorkers, c.scaling.warmup, c.scaling.phase)
	var nextPerson atomic.Int64
	// polls[r] and signins[r] are round r's phases: 1 instance, then N.
	var polls, signins [][]rate
	for round := range c.scaling.rounds {
		var ps, ss []rate
		for _, n := range []int{1, c.instances} {
			if c.scaling.rounds > 1 {
				fmt.Printf("\nround %d of %d", round+1, c.scaling.rounds)
			}
			p, s, err := scalePhase(ctx, c, pr, dir, groups, n, pg, &nextPerson)
			if err != nil {
				return true, err
			}
			ps, ss = append(ps, p), append(ss, s)
			failed = failed || p.s.failures() > 0 || s.s.failures() > 0
		}
		polls, signins = append(polls, ps), append(signins, ss)
	}
	fmt.Printf("\nload average (1 min) at the end %s, on %d CPUs\n", loadAverage(), runtime.NumCPU())
	for _, rs := range [][][]rate{polls, signins} {
		var ratios []float64
		for _, r := range rs {
			ratios = append(ratios, r[1].perSec/r[0].perSec)
			fmt.Printf("%-9s 1 -> %d instances: %.1f -> %.1f a second, x%.2f; tapd %.2f -> %.2f cores, %.3f -> %.3f CPU-ms each\n", r[0].s.name, r[1].instances,
				r[0].perSec, r[1].perSec, r[1].perSec/r[0].perSec, r[0].cores(), r[1].cores(), r[0].cpuEach(), r[1].cpuEach())
		}
		if len(ratios) > 1 {
			fmt.Printf("%-9s median ratio of %d rounds x%.2f (from x%.2f to x%.2f)\n", rs[0][0].s.name, len(ratios), median(ratios), slices.Min(ratios), slices.Max(ratios))
		}
	}
	return failed, nil
}

// scalePhase starts n instances (each in its own quota group), measures
// polls and then sign-ins at saturation, and stops them.
func scalePhase(ctx context.Context, c config, pr prepared, dir string, groups *cpuGroups, n, pg int, nextPerson *atomic.Int64) (polls, signins rate, err error) {
	ds, gdirs, pprofAddr, err := startInstances(ctx, c, pr, dir, groups, n, func(i int) string { return fmt.Sprintf("tapd%d-of-%d.log", i, n) })
	defer func() {
		for _, d := range ds {
			if serr := d.stop(); serr != nil && err == nil {
				err = fmt.Errorf("tapd stop: %w", serr)
			}
		}
	}()
	if err != nil {
		return polls, signins, err
	}
	conns := max(c.httpConns, c.scaling.pollWorkers)
	hc := httpClient(conns, nil)
	defer hc.CloseIdleConnections()
	// With -kiosk-addresses, kiosk k connects from 127.0.1.k+1, so that
	// each has its own client address (and address throttle row), as a
	// fleet without a shared proxy does; else all share 127.0.0.1.
	kc := make([]*http.Client, len(pr.seeded.kiosks))
	for k := range kc {
		kc[k] = hc
		if c.scaling.kioskAddrs {
			kc[k] = httpClient(conns, net.IPv4(127, 0, 1, byte(k+1)))
			defer kc[k].CloseIdleConnections()
		}
	}
	admin := api.NewClient(ds[0].url, pr.adminToken)
	admin.HTTP = hc
	if err := enablePolicy(ctx, admin, pr.lifetime); err != nil {
		return polls, signins, err
	}
	// Kiosk k's requests go to instance k mod n, as in the hold.
	kiosks := make([][]int, n)
	for k := range pr.seeded.kiosks {
		kiosks[k%n] = append(kiosks[k%n], k)
	}
	held := make([][]*api.Client, n)
	for _, p := range pr.seeded.held {
		i := p.kioskNo % n
		k := api.NewClient(ds[i].url, p.kiosk)
		k.HTTP, k.SessionToken = kc[p.kioskNo], p.pass
		held[i] = append(held[i], k)
	}
	next := make([]atomic.Int64, n)
	polls, err = saturate(ctx, c, pr.db, ds, gdirs, pg, pprofAddr, &series{name: "polls"}, c.scaling.pollWorkers, func(i, w int) error {
		_, err := held[i][int(next[i].Add(1))%len(held[i])].GetSession(context.Background())
		return err
	})
	if err != nil {
		return polls, signins, err
	}
	polls.report(os.Stdout, c.cpuQuota)
	signins, err = saturate(ctx, c, pr.db, ds, gdirs, pg, pprofAddr, &series{name: "sign-ins"}, c.scaling.signinWorkers, func(i, w int) error {
		j := int(nextPerson.Add(1) - 1)
		if j >= len(pr.seeded.people) {
			return errRanOut
		}
		p := pr.seeded.people[j]
		kn := kiosks[i][w%len(kiosks[i])]
		k := api.NewClient(ds[i].url, pr.seeded.kiosks[kn])
		k.HTTP = kc[kn]
		_, err := k.OpenSession(context.Background(), p.upn, p.pass)
		return err
	})
	if err != nil {
		return polls, signins, err
	}
	signins.report(os.Stdout, c.cpuQuota)
	return polls, signins, nil
}

// httpClient keeps up to conns connections to each tapd, from local
// (a loopback address) if given.
func httpClient(conns int, local net.IP) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if local != nil {
		d.LocalAddr = &net.TCPAddr{IP: local}
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: d.DialContext, MaxConnsPerHost: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute,
	}}
}

// saturate runs workers closed-loop on each instance (do(instance, worker)
// again as soon as it returns) for -warmup, measures for -phase, then stops
// them and waits for the requests in flight, which are not counted. A
// worker stops at errRanOut. It ends early, with ctx's error, when ctx ends.
func saturate(ctx context.Context, c config, db string, ds []*tapd, gdirs []string, pg int, pprofAddr string, s *series, workers int, do func(i, w int) error) (rate, error) {
	var stop atomic.Bool
	var ok atomic.Int64
	var wg sync.WaitGroup
	for i := range ds {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					err := s.time(func() error { return do(i, w) })
					if err == nil {
						ok.Add(1)
					}
					if errors.Is(err, errRanOut) {
						return
					}
				}
			}()
		}
	}
	take := func() snapshot {
		sn := snapshot{at: time.Now(), ok: ok.Load(), pg: clusterCPU(pg), self: readProc(os.Getpid()).cpu, cpu: readCPUTimes()}
		for i, d := range ds {
			sn.tapd = append(sn.tapd, readProc(d.cmd.Process.Pid).cpu)
			sn.thr = append(sn.thr, readThrottling(gdirs[i]))
		}
		return sn
	}
	sleep := func(d time.Duration) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
			return nil
		}
	}
	err := sleep(c.scaling.warmup)
	a := take()
	stopWaits := sampleWaits(db, 50*time.Millisecond)
	var prof *profiler
	if pprofAddr != "" && err == nil {
		prof = startProfile(pprofAddr, c.profile, fmt.Sprintf("%s-%d-instances-cpu.pprof", s.name, len(ds)), c.scaling.phase)
	}
	if err == nil {
		err = sleep(c.scaling.phase)
	}
	b := take()
	pgWaits := stopWaits()
	if prof != nil {
		if perr := prof.cpuDone(); perr != nil {
			fmt.Println("profile:", perr)
		}
	}
	stop.Store(true)
	wg.Wait()
	if err != nil {
		return rate{}, err
	}
	secs := b.at.Sub(a.at).Seconds()
	cores := func(d time.Duration) float64 { return d.Seconds() / secs }
	r := rate{instances: len(ds), perSec: float64(b.ok-a.ok) / secs, pg: -1, self: cores(b.self - a.self), idle: b.cpu.idleSince(a.cpu), steal: b.cpu.stealSince(a.cpu), waits: pgWaits, s: s}
	if pg > 0 {
		r.pg = cores(clusterCPUSince(a.pg, b.pg))
	}
	for i := range ds {
		r.tapd = append(r.tapd, cores(b.tapd[i]-a.tapd[i]))
		t := -1.0
		if p := b.thr[i].periods - a.thr[i].periods; gdirs[i] != "" && p > 0 {
			t = float64(b.thr[i].throttled-a.thr[i].throttled) / float64(p)
		}
		r.throttled = append(r.throttled, t)
	}
	return r, nil
}

// cores is the tapd instances' CPU, together.
func (r rate) cores() float64 {
	var t float64
	for _, c := range r.tapd {
		t += c
	}
	return t
}

// cpuEach is tapd's CPU per request done in milliseconds: with each
// instance at its quota, the ratio of two phases is the ratio of their
// cores over the ratio of this.
func (r rate) cpuEach() float64 {
	if r.perSec == 0 {
		return 0
	}
	return 1000 * r.cores() / r.perSec
}

func (r rate) report(w *os.File, quota float64) {
	fmt.Fprintf(w, "\n%d instance(s), %s: %.1f a second\n", r.instances, r.s.name, r.perSec)
	r.s.report(w)
	for i, t := range r.tapd {
		fmt.Fprintf(w, "  tapd %d: %.2f core", i, t)
		if r.throttled[i] >= 0 {
			fmt.Fprintf(w, " of its quota %g (out of quota in %.0f%% of CFS periods)", quota, 100*r.throttled[i])
		}
		fmt.Fprintln(w)
	}
	pg := "unknown"
	if r.pg >= 0 {
		pg = fmt.Sprintf("%.2f core", r.pg)
	}
	fmt.Fprintf(w, "  PostgreSQL cluster %s, load tool %.2f core, machine idle %.0f%% (steal %.1f%%), load average (1 min) %s\n", pg, r.self, 100*r.idle, 100*r.steal, loadAverage())
	fmt.Fprintf(w, "  PostgreSQL, this database: %s\n", r.waits)
	if quota > 0 {
		for i, t := range r.tapd {
			if t < 0.9*quota {
				fmt.Fprintf(w, "  NOTE: tapd %d used %.0f%% of its quota: it was not the bottleneck (see the machine's idle share, PostgreSQL's and the tool's CPU)\n", i, 100*t/quota)
			}
		}
	}
}
