package main

import (
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
)

// awaitStop blocks until SIGINT or SIGTERM or an error on serveErr, logs
// why with fields, and from then on makes a second signal exit the process
// at once. It returns the serving error, if that is what ended the wait.
func awaitStop(log *zap.Logger, serveErr <-chan error, fields ...zap.Field) error {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	var err error
	select {
	case s := <-sig:
		log.Info("shutting down", append([]zap.Field{zap.String("signal", s.String())}, fields...)...)
	case err = <-serveErr:
		log.Error("listener failed; shutting down", zap.Error(err))
	}
	go func() {
		s := <-sig
		log.Warn("second signal; exiting now", zap.String("signal", s.String()))
		os.Exit(1)
	}()
	return err
}
