// The minifb API, typed. `schema.d.ts` is generated from docs/openapi.json
// (`make client`); everything here is a thin layer over openapi-fetch.
import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, operations, paths } from "./schema.js";
export * from "./stream.js";

type Schemas = components["schemas"];
export type Author = Schemas["Author"];
export type Comment = Schemas["Comment"];
export type ErrorBody = Schemas["ErrorBody"];
export type Me = Schemas["Me"];
export type Notification = Schemas["Page_Notification"]["items"][number];
export type Post = Schemas["Post"];
export type Reaction = Schemas["Reaction"];
export type TokenPair = Schemas["TokenPair"];
export type User = Schemas["User"];

/** A client whose `GET`, `POST`, ... know every path, body and answer of the API. */
export type MinifbClient = Client<paths>;

export interface MinifbClientOptions {
  /** Where the server is, e.g. `https://minifb.example` (no trailing path needed). */
  baseUrl: string;
  /**
   * Read before every request: the access token to send as
   * `Authorization: Bearer`, or `undefined` to send none. Keep the token
   * pair in the application and refresh it with `POST /auth/refresh` when
   * an answer is 401 with `WWW-Authenticate: Bearer error="invalid_token"`.
   */
  accessToken?: () => string | undefined;
  /** Another `fetch` (tests, server-side rendering); the global one by default. */
  fetch?: typeof globalThis.fetch;
}

export function createMinifbClient(options: MinifbClientOptions): MinifbClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  if (options.accessToken) {
    client.use(bearer(options.accessToken));
  }
  return client;
}

/** True for the 401 that means "refresh the access token, then retry". */
export function isInvalidToken(response: Response): boolean {
  return (
    response.status === 401 &&
    (response.headers.get("WWW-Authenticate") ?? "").includes('error="invalid_token"')
  );
}

function bearer(accessToken: () => string | undefined): Middleware {
  return {
    onRequest({ request }) {
      const token = accessToken();
      if (token !== undefined && !request.headers.has("Authorization")) {
        request.headers.set("Authorization", `Bearer ${token}`);
      }
      return request;
    },
  };
}
