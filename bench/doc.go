// Package bench is clickedge's load suite: a load generator for a running
// edge (closed and open loop, realistic traffic, HDR latency percentiles),
// the loss check that reads the clicks topic back, the bare fasthttp baseline
// server the edge is measured against, an in-process Kafka-protocol broker for
// local stacks, and the Markdown/SVG report of a side-by-side run.
//
// cmd/clickbench wires flags to this package; nothing here reads flags.
package bench
