package rollup

import (
	"fmt"
	"time"

	"github.com/clickedge/clickedge/linkcache"
)

// Window returns the limit window of period that contains t, in loc: its
// start, and its end (exclusive). Days start at local midnight, weeks on
// Monday, months on the 1st, quarters on January, April, July and October 1st.
// The contract period is lifetime: start is the Unix epoch and end is the
// zero Time. Across DST changes a day is 23 or 25 hours long; where midnight
// does not exist the day starts when the clocks jump.
func Window(period string, t time.Time, loc *time.Location) (start, end time.Time) {
	lt := t.In(loc)
	y, m, d := lt.Date()
	switch period {
	case linkcache.PeriodDay:
		start = midnight(y, m, d, loc)
		end = midnight(y, m, d+1, loc)
	case linkcache.PeriodWeek:
		back := (int(lt.Weekday()) + 6) % 7 // days since Monday
		start = midnight(y, m, d-back, loc)
		end = midnight(y, m, d-back+7, loc)
	case linkcache.PeriodMonth:
		start = midnight(y, m, 1, loc)
		end = midnight(y, m+1, 1, loc)
	case linkcache.PeriodQuarter:
		q := (m-1)/3*3 + 1
		start = midnight(y, q, 1, loc)
		end = midnight(y, q+3, 1, loc)
	case linkcache.PeriodContract:
		return time.Unix(0, 0).In(loc), time.Time{}
	default:
		panic(fmt.Sprintf("BUG: unknown period %q", period))
	}
	return start, end
}

// midnight returns the first instant of the local date y-m-d in loc. Where
// the clocks jump over midnight (America/Santiago), time.Date may answer the
// instant before the jump, which still belongs to the day before; the day
// starts at the jump instead.
func midnight(y int, m time.Month, d int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if _, _, day := t.Date(); day != time.Date(y, m, d, 12, 0, 0, 0, loc).Day() {
		_, before := t.Zone()
		_, after := t.Add(time.Hour).Zone()
		t = t.Add(time.Duration(after-before) * time.Second)
	}
	return t
}

// hourStart returns the start of the local hour of t in loc: the bucket of
// the hourly rollups. Local hours keep days whole in zones with half- and
// quarter-hour offsets (Asia/Kolkata, Asia/Kathmandu); the repeated hour at
// the end of DST is two buckets, one per offset.
func hourStart(t time.Time, loc *time.Location) time.Time {
	_, off := t.In(loc).Zone()
	local := t.Unix() + int64(off)
	return time.Unix(local-mod(local, 3600)-int64(off), 0).In(loc)
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
