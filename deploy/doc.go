// Package deploy holds the container image, the Docker Compose stack, the
// Kubernetes manifests, the CDN notes, the alert rules and the dashboard of
// clickedge. It has no code of its own: its tests build the clickedge binary
// the way the Makefile does, run it against a real Redis and a Kafka-protocol
// broker, and check that every command, flag, environment variable, port,
// probe path and metric name these files use exists in that binary.
package deploy
