// The client against a real server (MINIFB_URL; scripts/client.sh starts
// one): sign up, log in, post, a comment from a second user arriving on the
// live stream, a resumed stream replaying what it missed, a token refresh.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test, type TestContext } from "node:test";
import { EventSource } from "eventsource";
import {
  createMinifbClient,
  isInvalidToken,
  openNotificationStream,
  type NotificationEvent,
  type NotificationStream,
  type TokenPair,
} from "../src/index.js";

const baseUrl = process.env.MINIFB_URL ?? "";
if (baseUrl === "") throw new Error("MINIFB_URL must name a running minifb server");

const anonymous = createMinifbClient({ baseUrl });

async function signUpAndLogIn(id: string): Promise<TokenPair> {
  const password = `pw-${id}-long-enough`;
  const signup = await anonymous.POST("/auth/signup", { body: { id, password, name: id.slice(0, 16) } });
  assert.equal(signup.response.status, 201, JSON.stringify(signup.error));
  assert.equal(signup.data?.id, id);
  const login = await anonymous.POST("/auth/login", { body: { id, password } });
  assert.equal(login.response.status, 200, JSON.stringify(login.error));
  assert.ok(login.data);
  return login.data;
}

/** An `Error`, or the `eventsource` package's error event (with the status). */
function describe(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return String(message ?? error);
}

/** A stream's `notification` events, awaited one at a time; closed when the test ends. */
function listen(t: TestContext, tokens: () => TokenPair, lastEventId?: number) {
  const arrived: NotificationEvent[] = [];
  let failure: unknown;
  let wake = () => {};
  let opened = () => {};
  let refused = (_: Error) => {};
  const open = new Promise<void>((resolve, reject) => {
    opened = resolve;
    refused = reject;
  });
  open.catch(() => {}); // awaited only by some callers
  const stream: NotificationStream = openNotificationStream({
    baseUrl,
    accessToken: () => tokens().access_token,
    ...(lastEventId === undefined ? {} : { lastEventId }),
    EventSource,
    onOpen: () => opened(),
    onNotification: (event) => {
      arrived.push(event);
      wake();
    },
    onError: (error) => {
      failure ??= error;
      refused(new Error(`the stream failed: ${describe(failure)}`));
      wake();
    },
  });
  t.after(() => stream.close());
  const next = async (): Promise<NotificationEvent> => {
    const deadline = AbortSignal.timeout(10_000);
    for (;;) {
      if (failure !== undefined) throw new Error(`the stream failed: ${describe(failure)}`);
      const event = arrived.shift();
      if (event !== undefined) return event;
      if (deadline.aborted) throw new Error("no notification within 10 s");
      await new Promise<void>((resolve, reject) => {
        wake = resolve;
        deadline.addEventListener("abort", () => reject(new Error("no notification within 10 s")));
      });
    }
  };
  return { stream, open, next };
}

test("a frontend's session with the typed client", { timeout: 60_000 }, async (t) => {
  const suffix = randomBytes(4).toString("hex");
  let alice = await signUpAndLogIn(`alice_${suffix}`);
  const bob = await signUpAndLogIn(`bob_${suffix}`);
  const asAlice = createMinifbClient({ baseUrl, accessToken: () => alice.access_token });
  const asBob = createMinifbClient({ baseUrl, accessToken: () => bob.access_token });

  const post = await asAlice.POST("/posts", { body: { content: "hello from the typed client" } });
  assert.equal(post.response.status, 201, JSON.stringify(post.error));
  assert.ok(post.data);
  const postId = post.data.id;
  assert.equal(post.data.author.id, `alice_${suffix}`);

  // A comment from Bob arrives on Alice's open stream.
  const live = listen(t, () => alice);
  await live.open;
  const comment = await asBob.POST("/posts/{id}/comments", {
    params: { path: { id: postId } },
    body: { content: "first!" },
  });
  assert.equal(comment.response.status, 201, JSON.stringify(comment.error));
  const first = await live.next();
  assert.equal(first.notification.type, 1);
  assert.equal(first.notification.actor.id, `bob_${suffix}`);
  assert.equal(first.notification.post_id, postId);
  assert.equal(first.notification.comment_id, comment.data?.id);
  assert.equal(first.unread_count, 1);
  assert.equal(live.stream.lastEventId, first.notification.id);
  live.stream.close();

  // Closed, it misses Bob's second comment; resumed, it gets only that one.
  const second = await asBob.POST("/posts/{id}/comments", {
    params: { path: { id: postId } },
    body: { content: "second" },
  });
  assert.equal(second.response.status, 201, JSON.stringify(second.error));
  const resumed = listen(t, () => alice, live.stream.lastEventId);
  const replayed = await resumed.next();
  resumed.stream.close();
  assert.equal(replayed.notification.comment_id, second.data?.id);
  assert.equal(replayed.unread_count, 2);

  const page = await asAlice.GET("/me/notifications", { params: { query: { unread: true } } });
  assert.equal(page.response.status, 200, JSON.stringify(page.error));
  assert.deepEqual(
    page.data?.items.map((n) => n.comment_id),
    [second.data?.id, comment.data?.id],
  );

  // A refresh gives a working pair and spends the old refresh token.
  const spent = alice.refresh_token;
  const refreshed = await anonymous.POST("/auth/refresh", { body: { refresh_token: spent } });
  assert.equal(refreshed.response.status, 200, JSON.stringify(refreshed.error));
  assert.ok(refreshed.data);
  alice = refreshed.data;
  assert.notEqual(alice.refresh_token, spent);
  const me = await asAlice.GET("/me");
  assert.equal(me.data?.id, `alice_${suffix}`);
  const reused = await anonymous.POST("/auth/refresh", { body: { refresh_token: spent } });
  assert.equal(reused.response.status, 401);
  assert.equal(reused.error?.result, "Unauthorized");

  // A broken access token is the 401 that asks for a refresh.
  const forged = createMinifbClient({ baseUrl, accessToken: () => "not-a-jwt" });
  const refused = await forged.GET("/me");
  assert.equal(refused.response.status, 401);
  assert.ok(isInvalidToken(refused.response));
});
