// openNotificationStream's reconnects, against a stand-in EventSource: the
// paths a short scenario cannot reach (an access token expiring mid-stream,
// a reconnect refused).
import assert from "node:assert/strict";
import { test } from "node:test";
import { openNotificationStream, type EventSourceLike } from "../src/index.js";

class FakeEventSource implements EventSourceLike {
  static opened: FakeEventSource[] = [];
  readyState = 0;
  private listeners = new Map<string, ((event: MessageEvent<string>) => void)[]>();

  constructor(readonly url: string) {
    FakeEventSource.opened.push(this);
  }

  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.readyState = 2;
  }

  emit(type: string, data = "{}", lastEventId = ""): void {
    const event = { data, lastEventId } as MessageEvent<string>;
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }

  query(): URLSearchParams {
    return new URL(this.url).searchParams;
  }
}

/** Resolves once `count` connections have been opened. */
async function connections(count: number): Promise<FakeEventSource[]> {
  while (FakeEventSource.opened.length < count) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  return FakeEventSource.opened;
}

function notification(id: number): string {
  return JSON.stringify({
    notification: {
      id,
      type: 1,
      actor: { id: "bob", name: "Bob", nickname: null },
      post_id: 1,
      comment_id: id,
      read: false,
      created_at: "2026-12-06T19:00:00.000Z",
    },
    unread_count: id,
  });
}

test("an expired token reconnects with a fresh one after the last id seen", { timeout: 5000 }, async () => {
  FakeEventSource.opened = [];
  const tokens = ["first", "second"];
  const seen: number[] = [];
  const stream = openNotificationStream({
    baseUrl: "http://server.test/",
    accessToken: async () => tokens.shift() ?? "none left",
    lastEventId: 3,
    EventSource: FakeEventSource,
    onNotification: (event) => seen.push(event.notification.id),
  });
  const [first] = await connections(1);
  assert.equal(first?.url, "http://server.test/me/notifications/stream?access_token=first&last_event_id=3");
  first?.emit("notification", notification(4), "4");
  first?.emit("notification", notification(7), "7");
  first?.emit("token_expired");
  assert.equal(first?.readyState, 2);

  const [, second] = await connections(2);
  assert.equal(second?.query().get("access_token"), "second");
  assert.equal(second?.query().get("last_event_id"), "7");
  assert.deepEqual(seen, [4, 7]);
  assert.equal(stream.lastEventId, 7);
  stream.close();
  assert.equal(second?.readyState, 2);
});

test("a refused reconnect is reported and retried; one still connecting is left to the EventSource", { timeout: 5000 }, async () => {
  FakeEventSource.opened = [];
  const errors: unknown[] = [];
  const stream = openNotificationStream({
    baseUrl: "http://server.test",
    accessToken: () => "token",
    EventSource: FakeEventSource,
    retryMs: 1,
    onError: (error) => errors.push(error),
  });
  const [first] = await connections(1);
  assert.equal(first?.query().has("last_event_id"), false);
  first?.emit("error"); // still CONNECTING: the EventSource retries by itself
  assert.deepEqual(errors, []);
  if (first) first.readyState = 2;
  first?.emit("error");
  assert.equal(errors.length, 1);
  const [, second] = await connections(2);
  assert.equal(second?.url, first?.url);
  stream.close();
});
