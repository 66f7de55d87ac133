// The live notification stream (`GET /me/notifications/stream`) over an
// `EventSource`, the browser's or, in Node before 22, the `eventsource`
// package's. An `EventSource` cannot send headers, so the access token goes
// in `?access_token=` and the resume point in `?last_event_id=`; the
// `EventSource`'s own reconnects add `Last-Event-ID`, which the server
// prefers. When the token expires (`token_expired`) or a reconnect is
// refused (401 after expiry, 429, 503), the helper reconnects with a fresh
// token from `accessToken()` and the last id it saw, so nothing is missed
// and nothing is delivered twice.
import type { components } from "./schema.js";

type Notification = components["schemas"]["Page_Notification"]["items"][number];

/** `event: notification`: a new notification, or one replayed after `lastEventId`. */
export interface NotificationEvent {
  notification: Notification;
  unread_count: number;
}

/** `event: withdrawn`: an unread notification disappeared. Idempotent. */
export interface WithdrawnEvent {
  id: number;
  unread_count: number;
}

/** `event: read`: notifications were marked read (`"all"`: mark-all-read). Idempotent. */
export interface ReadEvent {
  ids: number[] | "all";
  unread_count: number;
}

/** What the helper needs of an `EventSource`. */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void;
  close(): void;
}

export type EventSourceConstructor = new (url: string) => EventSourceLike;

export interface NotificationStreamOptions {
  baseUrl: string;
  /**
   * Called before every connection for a live access token: refresh the
   * token pair here when the current access token has expired.
   */
  accessToken: () => string | Promise<string>;
  /** Resume after this notification id: newer ones are replayed first. */
  lastEventId?: number;
  onNotification?: (event: NotificationEvent) => void;
  onWithdrawn?: (event: WithdrawnEvent) => void;
  onRead?: (event: ReadEvent) => void;
  /** The server accepted a connection: from here on nothing is missed. */
  onOpen?: () => void;
  /** A connection failed for good or `accessToken` threw; the helper retries after `retryMs`. */
  onError?: (error: unknown) => void;
  /** Wait before reconnecting after a failure; 3000 ms, as the server's `retry:`. */
  retryMs?: number;
  /** The `EventSource` class; the global one by default. */
  EventSource?: EventSourceConstructor;
}

export interface NotificationStream {
  /** The id of the last `notification` event seen, to resume from elsewhere. */
  readonly lastEventId: number | undefined;
  close(): void;
}

const CLOSED = 2;

export function openNotificationStream(options: NotificationStreamOptions): NotificationStream {
  const EventSourceClass: EventSourceConstructor | undefined =
    options.EventSource ?? globalThis.EventSource;
  if (EventSourceClass === undefined) {
    throw new Error("no global EventSource: pass one (in Node, the `eventsource` package's)");
  }
  const retryMs = options.retryMs ?? 3000;
  const endpoint = `${options.baseUrl.replace(/\/+$/, "")}/me/notifications/stream`;
  let lastEventId = options.lastEventId;
  let source: EventSourceLike | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const reconnect = (delay: number) => {
    source?.close();
    source = undefined;
    if (!closed) timer = setTimeout(() => void connect(), delay);
  };

  const connect = async () => {
    timer = undefined;
    let token: string;
    try {
      token = await options.accessToken();
    } catch (error) {
      options.onError?.(error);
      reconnect(retryMs);
      return;
    }
    if (closed) return;
    const query = new URLSearchParams({ access_token: token });
    if (lastEventId !== undefined) query.set("last_event_id", String(lastEventId));
    const current = new EventSourceClass(`${endpoint}?${query}`);
    source = current;
    const on = <T>(type: string, handle: ((data: T) => void) | undefined) =>
      current.addEventListener(type, (event) => handle?.(JSON.parse(event.data) as T));
    current.addEventListener("notification", (event) => {
      lastEventId = Number(event.lastEventId);
      options.onNotification?.(JSON.parse(event.data) as NotificationEvent);
    });
    on("withdrawn", options.onWithdrawn);
    on("read", options.onRead);
    current.addEventListener("open", () => options.onOpen?.());
    current.addEventListener("token_expired", () => reconnect(0));
    current.addEventListener("error", (event) => {
      // While CONNECTING the EventSource retries by itself, with Last-Event-ID.
      if (current === source && current.readyState === CLOSED) {
        options.onError?.(event);
        reconnect(retryMs);
      }
    });
  };

  void connect();
  return {
    get lastEventId() {
      return lastEventId;
    },
    close() {
      closed = true;
      clearTimeout(timer);
      source?.close();
      source = undefined;
    },
  };
}
