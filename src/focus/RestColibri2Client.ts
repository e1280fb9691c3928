/**
 * colibri2 over a bridge's REST API (JVB `doc/rest-colibri2.md`, octobridge src/http/colibri2Rest.ts): how the
 * embedded focus drives the other bridges of a standalone cascade. `create` requests go to
 * `POST /colibri/v2/conferences`, the others to `PATCH /colibri/v2/conferences/{meetingId}`; bodies are colibri2 JSON
 * (src/colibri2/json.ts), errors come back as {@link Colibri2Error} with the bridge's condition where it says one.
 */
import { Colibri2Error } from '../colibri2/errors.ts';
import { parseColibri2ErrorJson, parseConferenceModifiedJson, serializeConferenceModifyJson } from '../colibri2/json.ts';
import type { ConferenceModifiedResponse, ConferenceModifyRequest } from '../colibri2/types.ts';
import type { Colibri2Client } from './Focus.ts';

/** A request that got no answer within this, ms, fails (the bridge is down or unreachable). */
const REQUEST_TIMEOUT_MS = 10_000;

/** See the module docstring. */
export class RestColibri2Client implements Colibri2Client {
  readonly #base: string;

  /** @param baseUrl the bridge's private REST server, e.g. `http://10.100.0.2:8080` (no trailing slash needed). */
  constructor(baseUrl: string) {
    this.#base = baseUrl.replace(/\/+$/, '');
  }

  /**
   * Send one conference-modify.
   * @throws Colibri2Error: the bridge's refusal (400 with its text and condition), `item-not-found`
   *   `conference_not_found` for 404, `internal-server-error` when unreachable or the answer is not colibri2 JSON.
   */
  async conferenceModify(req: ConferenceModifyRequest): Promise<ConferenceModifiedResponse> {
    const url = req.create ? `${this.#base}/colibri/v2/conferences` : `${this.#base}/colibri/v2/conferences/${encodeURIComponent(req.meetingId)}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: req.create ? 'POST' : 'PATCH',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(serializeConferenceModifyJson(req)),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new Colibri2Error('internal-server-error', `bridge at ${this.#base} unreachable: ${(err as Error).message}`);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      body = text;
    }
    if (!res.ok) throw parseColibri2ErrorJson(res.status, body);
    return parseConferenceModifiedJson(body);
  }
}
