package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// bayling serve answers until its context ends (as on SIGTERM), then
// returns cleanly.
func TestServeCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addrc := make(chan string, 1)
	o := &serveOptions{loadFlags: loadFlags{model: storiesModel(t), threads: 1}, template: "bayling-llama2", addr: "127.0.0.1:0", ready: func(a string) { addrc <- a }}
	o.engine.Slots, o.engine.Queue = 2, 4
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, &logs, o) }()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("serve ended: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	resp, err := http.Post("http://"+addr+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"stories260K","messages":[{"role":"user","content":"Hi"}],"max_tokens":5,"temperature":0}`))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Choices []struct{ Message struct{ Content string } }
		Usage   struct {
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := json.Unmarshal(b, &out); err != nil || resp.StatusCode != 200 || out.Usage.CompletionTokens == 0 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
	if !strings.Contains(logs.String(), "chat_format=bayling-llama2") {
		t.Errorf("log %q", logs.String())
	}
}

// Without a chat format the server still starts; chat requests get a clear 400.
func TestServeWithoutChatFormat(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addrc := make(chan string, 1)
	o := &serveOptions{loadFlags: loadFlags{model: storiesModel(t), threads: 1}, template: "auto", addr: "127.0.0.1:0", ready: func(a string) { addrc <- a }}
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, &logs, o) }()
	addr := <-addrc
	resp, err := http.Post("http://"+addr+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"stories260K","messages":[{"role":"user","content":"Hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "no_chat_template") {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	cancel()
	<-done
	if !strings.Contains(logs.String(), "no chat format") {
		t.Errorf("log %q", logs.String())
	}
}
