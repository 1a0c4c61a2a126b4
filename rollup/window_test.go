package rollup

import (
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("cannot load time zone %q: %v", name, err)
	}
	return loc
}

func TestWindow(t *testing.T) {
	f := func(zone, period, at, wantStart, wantEnd string) {
		t.Helper()
		loc := mustLoc(t, zone)
		ts, err := time.Parse(time.RFC3339, at)
		if err != nil {
			t.Fatalf("cannot parse %q: %v", at, err)
		}
		start, end := Window(period, ts, loc)
		gotEnd := ""
		if !end.IsZero() {
			gotEnd = end.Format(time.RFC3339)
		}
		if got := start.In(loc).Format(time.RFC3339); got != wantStart || gotEnd != wantEnd {
			t.Fatalf("unexpected %s window of %s in %s; got [%s, %s); want [%s, %s)", period, at, zone, got, gotEnd, wantStart, wantEnd)
		}
		if start.After(ts) || (!end.IsZero() && !end.After(ts)) {
			t.Fatalf("window [%s, %s) does not contain %s", start, end, at)
		}
	}
	// Days in the program's zone, not UTC.
	f("UTC", "day", "2026-11-21T23:59:59Z", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z")
	f("America/New_York", "day", "2026-11-22T03:00:00Z", "2026-11-21T00:00:00-05:00", "2026-11-22T00:00:00-05:00")
	f("Asia/Tokyo", "day", "2026-11-21T15:00:00Z", "2026-11-22T00:00:00+09:00", "2026-11-23T00:00:00+09:00")
	f("Asia/Kolkata", "day", "2026-11-21T18:29:59Z", "2026-11-21T00:00:00+05:30", "2026-11-22T00:00:00+05:30")
	f("Asia/Kolkata", "day", "2026-11-21T18:30:00Z", "2026-11-22T00:00:00+05:30", "2026-11-23T00:00:00+05:30")
	// DST: the spring-forward day has 23 hours, the fall-back day 25.
	f("America/New_York", "day", "2026-03-08T12:00:00Z", "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00")
	f("America/New_York", "day", "2026-11-01T12:00:00Z", "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00")
	f("Europe/Berlin", "day", "2026-03-29T01:30:00Z", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00")
	// Santiago moves its clocks at midnight: that day starts at 01:00.
	f("America/Santiago", "day", "2026-09-06T12:00:00Z", "2026-09-06T01:00:00-03:00", "2026-09-07T00:00:00-03:00")
	// Weeks start on Monday, also when the week spans a month, a year or DST.
	f("UTC", "week", "2026-11-21T10:00:00Z", "2026-11-16T00:00:00Z", "2026-11-23T00:00:00Z") // Saturday
	f("UTC", "week", "2026-11-22T23:59:59Z", "2026-11-16T00:00:00Z", "2026-11-23T00:00:00Z") // Sunday
	f("UTC", "week", "2026-11-23T00:00:00Z", "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z") // Monday
	f("UTC", "week", "2027-01-01T00:00:00Z", "2026-12-28T00:00:00Z", "2027-01-04T00:00:00Z")
	f("America/New_York", "week", "2026-11-04T12:00:00Z", "2026-11-02T00:00:00-05:00", "2026-11-09T00:00:00-05:00")
	f("America/New_York", "week", "2026-11-01T12:00:00Z", "2026-10-26T00:00:00-04:00", "2026-11-02T00:00:00-05:00")
	f("America/Los_Angeles", "week", "2026-11-23T07:59:59Z", "2026-11-16T00:00:00-08:00", "2026-11-23T00:00:00-08:00")
	// Months and quarters, with leap years and zone offsets.
	f("UTC", "month", "2028-02-29T12:00:00Z", "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z")
	f("Europe/London", "month", "2026-03-31T23:30:00Z", "2026-04-01T00:00:00+01:00", "2026-05-01T00:00:00+01:00")
	f("UTC", "quarter", "2026-11-21T00:00:00Z", "2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z")
	f("UTC", "quarter", "2026-03-31T23:59:59Z", "2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z")
	f("UTC", "quarter", "2026-04-01T00:00:00Z", "2026-04-01T00:00:00Z", "2026-07-01T00:00:00Z")
	f("America/New_York", "quarter", "2026-07-01T03:00:00Z", "2026-04-01T00:00:00-04:00", "2026-07-01T00:00:00-04:00")
	f("Asia/Tokyo", "quarter", "2026-06-30T15:00:00Z", "2026-07-01T00:00:00+09:00", "2026-10-01T00:00:00+09:00")
	// The contract period is lifetime.
	f("UTC", "contract", "2026-11-21T00:00:00Z", "1970-01-01T00:00:00Z", "")
}

func TestHourStart(t *testing.T) {
	f := func(zone, at, want string) {
		t.Helper()
		ts, _ := time.Parse(time.RFC3339, at)
		if got := hourStart(ts, mustLoc(t, zone)).Format(time.RFC3339); got != want {
			t.Fatalf("unexpected hour of %s in %s; got %s; want %s", at, zone, got, want)
		}
	}
	f("UTC", "2026-11-21T10:59:59Z", "2026-11-21T10:00:00Z")
	f("Asia/Kolkata", "2026-11-21T10:59:59Z", "2026-11-21T16:00:00+05:30")
	f("Asia/Kathmandu", "2026-11-21T10:14:59Z", "2026-11-21T15:00:00+05:45")
	f("Asia/Kathmandu", "2026-11-21T10:15:00Z", "2026-11-21T16:00:00+05:45")
	// The repeated 01:00 hour at the end of DST is two buckets.
	f("America/New_York", "2026-11-01T05:30:00Z", "2026-11-01T01:00:00-04:00")
	f("America/New_York", "2026-11-01T06:30:00Z", "2026-11-01T01:00:00-05:00")
}
