package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pykv/pykv/client"
	"github.com/pykv/pykv/internal/testdaemon"
)

func TestMain(m *testing.M) { testdaemon.Main(m) }

// TestAgainstDaemons runs both modes against a real leader and follower:
// --sync reports the follower's full sync once it has the leader's seq,
// and the lag mode, over a write load, reports figures for every leader
// poll of the load, none left unreached.
func TestAgainstDaemons(t *testing.T) {
	leader := testdaemon.Start(t, testdaemon.Options{})
	lc, err := client.New(client.Options{Addr: leader.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range 500 {
		if err := lc.Set(ctx, "k"+strconv.Itoa(i), "v", client.SetArgs{}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	follower := testdaemon.Start(t, testdaemon.Options{Args: []string{"--replicaof", leader.Addr()}})

	var out, stderr bytes.Buffer
	if code := run([]string{"--sync", "--leader", leader.Addr(), "--followers", follower.Addr(), "--duration", "30s", "--json"},
		&out, &stderr); code != 0 {
		t.Fatalf("repllag --sync: exit %d: %s", code, stderr.String())
	}
	var sr syncReport
	if err := json.Unmarshal(out.Bytes(), &sr); err != nil {
		t.Fatalf("repllag --sync printed %q: %v", out.String(), err)
	}
	if sr.Seq < 500 || sr.FullSyncs != 1 || sr.SyncMs <= 0 {
		t.Errorf("repllag --sync: %+v; want seq >= 500, one full sync, a positive time", sr)
	}

	// A write load for the whole of the polls, and a little before.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var loadErr error
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := lc.Set(ctx, "load"+strconv.Itoa(i%1000), "value", client.SetArgs{}).Err(); err != nil {
				loadErr = err
				return
			}
		}
	})
	out.Reset()
	stderr.Reset()
	code := run([]string{"--leader", leader.Addr(), "--followers", follower.Addr(), "--duration", "1s", "--drain", "30s", "--json"},
		&out, &stderr)
	close(stop)
	wg.Wait()
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	if code != 0 {
		t.Fatalf("repllag: exit %d: %s", code, stderr.String())
	}
	var lr lagReport
	if err := json.Unmarshal(out.Bytes(), &lr); err != nil {
		t.Fatalf("repllag printed %q: %v", out.String(), err)
	}
	t.Logf("repllag: %+v", lr)
	if lr.Followers != 1 || lr.LeaderPolls < 10 || lr.MillisSamples < 10 || lr.RecordSamples < 10 || lr.Unreached != 0 {
		t.Errorf("repllag: %+v; want one follower, at least 10 polls and figures of each kind, none unreached", lr)
	}
	if lr.MillisP50 > lr.MillisP99 || lr.MillisP99 > lr.MillisMax || lr.RecordsP50 > lr.RecordsP99 || lr.RecordsP99 > lr.RecordsMax {
		t.Errorf("repllag: percentiles out of order: %+v", lr)
	}
}
