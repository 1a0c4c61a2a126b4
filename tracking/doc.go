// Package tracking classifies clicks and defines the click event wire format.
//
// A Classifier turns the parts of an HTTP request that matter (method, user
// agent, referrer, prefetch headers, query, client IP) into the classification
// fields of a Click: traffic source, referrer host, device, bot verdict and
// reason, country, a keyed visitor hash and the client's network prefix. Raw
// client IPs never reach a Click.
//
// A Click is one event of the Kafka topic "clicks". Click.AppendJSON writes the
// versioned JSON object (v1) without reflection and DecodeClick reads it back,
// rejecting versions it does not know. The encoder and decoder in this package
// are the only definition of the wire format.
//
// The hot path (Classify of a user agent seen before, AppendJSON, SetSubIDs,
// IDGenerator.Append) makes no allocations; allocation_test.go enforces it.
package tracking
