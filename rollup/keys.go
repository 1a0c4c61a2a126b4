package rollup

import (
	"strconv"
	"time"
)

// Redis keys of the rollup. Every key of a contract carries the hash tag
// {k:<program>:<partner>}, so one script touches one Redis Cluster slot.
// Clicks of unknown links share the tag {k:}.
//
//	ce:{k:P:Q}:wm:<topic>:<partition>   applied-offset watermark
//	ce:{k:P:Q}:t                        totals: clicks, payout, per status
//	ce:{k:P:Q}:u:<metric>:<period>:<s>  usage of a limit window starting at unix s
//	ce:{k:P:Q}:h:<s>                    hourly rollup cells of the local hour at unix s
//	ce:{k:P:Q}:ids:<s>                  decisions by click ID, per UTC hour of the click
//	ce:{k:P:Q}:v:<visitor>              start of the visitor's unique window
func prefix(program, partner string) string {
	if program == "" {
		return "ce:{k:}:"
	}
	return "ce:{k:" + program + ":" + partner + "}:"
}

func watermarkKey(program, partner, topic string, partition int) string {
	return prefix(program, partner) + "wm:" + topic + ":" + strconv.Itoa(partition)
}

func totalsKey(program, partner string) string { return prefix(program, partner) + "t" }

// usageKey is the suffix, after the prefix, of a limit window's usage.
func usageKey(metric, period string, start time.Time) string {
	return string(appendUsageKey(nil, metric, period, start))
}

func appendUsageKey(dst []byte, metric, period string, start time.Time) []byte {
	dst = append(dst, "u:"...)
	dst = append(dst, metric[:1]...)
	dst = append(dst, ':')
	dst = append(dst, period...)
	dst = append(dst, ':')
	return strconv.AppendInt(dst, start.Unix(), 10)
}

func hourKey(program, partner string, hour time.Time) string {
	return prefix(program, partner) + "h:" + strconv.FormatInt(hour.Unix(), 10)
}
