// Command broker is the embedded default profile's message broker: a NATS
// server with JetStream persistence on local disk, listening on loopback. At
// start it makes sure one stream exists per topic listed in the streams file,
// because Dapr's JetStream component binds to streams but never creates them,
// and durable consumer names are unique per stream, so one stream per topic
// lets every app keep one durable consumer per topic.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With(slog.String("service", "broker"))
	if err := run(logger); err != nil {
		logger.Error("stopped with error", slog.String("error", err.Error()))
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	host := flag.String("host", "127.0.0.1", "interface to listen on")
	port := flag.Int("port", 4222, "client port")
	storeDir := flag.String("store", ".data/nats", "JetStream storage directory")
	streamsFile := flag.String("streams", "", "file listing one topic per line")
	flag.Parse()

	topics, err := readTopics(*streamsFile)
	if err != nil {
		return err
	}

	ns, err := server.NewServer(&server.Options{
		Host:      *host,
		Port:      *port,
		JetStream: true,
		StoreDir:  *storeDir,
		NoSigs:    true,
	})
	if err != nil {
		return fmt.Errorf("configure nats: %w", err)
	}
	ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(30 * time.Second) {
		return errors.New("nats server did not become ready")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := ensureStreams(ctx, ns.ClientURL(), topics); err != nil {
		return err
	}
	logger.Info("broker ready", slog.String("url", ns.ClientURL()), slog.Any("streams", topics))

	<-ctx.Done()
	logger.Info("stopping")
	return nil
}

// readTopics reads the streams file: one topic per line, # starts a comment.
func readTopics(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open streams file: %w", err)
	}
	defer f.Close()

	var topics []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line != "" {
			topics = append(topics, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read streams file: %w", err)
	}
	return topics, nil
}

// ensureStreams creates or updates one file-backed stream per topic, named
// after the topic and capturing exactly that subject.
func ensureStreams(ctx context.Context, url string, topics []string) error {
	nc, err := nats.Connect(url)
	if err != nil {
		return fmt.Errorf("connect to nats: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	for _, topic := range topics {
		_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name:       streamName(topic),
			Subjects:   []string{topic},
			Storage:    jetstream.FileStorage,
			Retention:  jetstream.LimitsPolicy,
			MaxAge:     7 * 24 * time.Hour,
			Duplicates: 2 * time.Minute,
		})
		if err != nil {
			return fmt.Errorf("create stream for %s: %w", topic, err)
		}
	}
	return nil
}

// streamName derives a valid stream name from a topic: stream names may not
// contain dots, spaces or wildcards.
func streamName(topic string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', ' ', '*', '>', '/', '\\':
			return '_'
		}
		return r
	}, topic)
}
