/**
 * colibri2 as JSON on the private HTTP server, as JVB serves it (jitsi-videobridge
 * `rest/root/colibri/v2/conferences/Conferences.java`, `doc/rest-colibri2.md`; the JSON form: src/colibri2/json.ts).
 * On when `videobridge.apis.rest.enabled` / docker `COLIBRI_REST_ENABLED` is true (`config.rest.colibri`); off, every
 * path below is 404 like any unknown path (JVB does not register the resource).
 *
 * | route | answer |
 * |---|---|
 * | `POST /colibri/v2/conferences` | body: conference-modify JSON (usually with `"create": true`) → 200 conference-modified JSON |
 * | `PATCH /colibri/v2/conferences/{meetingId}` | 404 for an unknown meeting (checked first); body: conference-modify JSON whose `meeting-id` is replaced by the URL's (may be left out) → 200 conference-modified JSON |
 * | `GET /colibri/v2/conferences/{meetingId}/dominant-speaker-identification` | 404 unknown; 200 `{"dominantEndpoint","dominantSpeakerIdentification","endpointsBySpeechActivity","endpointsInLastNOrder"}` (ConferenceSpeechActivity.getDebugState) |
 * | `GET /colibri/v2/conferences` | 501 (JVB: "not clear what this should do") |
 * | `GET /colibri/v2/conferences/{meetingId}` | 404 unknown, else 501 |
 *
 * Status codes, as Jersey and `Conferences.java` give them:
 * - 400 for a body that is not JSON ("Failed to create conference, could not parse JSON: …"), not a conference-modify
 *   ("Failed to parse ConferenceModify JSON:…", JVB's text, no space), or that the bridge refuses: **every**
 *   {@link Colibri2Error}, whatever its condition (JVB maps any IQ error to 400 "Failed to create conference: <text>").
 * - 404 unknown path or meeting; 405 (with `Allow`) for another method; 415 for a `Content-Type` that is not JSON
 *   (none at all is accepted, as Jersey does); 406 for an `Accept` that excludes JSON; 413 for a body over 1 MiB
 *   (octobridge's limit; JVB has none); 500 only for a failure that is not a Colibri2Error (a bug).
 *
 * Error bodies are JSON (`colibri2ErrorJson`): `{"error", "message"}` with the text (`message` is what JVB's Jetty
 * error page carries when asked for JSON), plus `condition`/`reason`/`endpoint` for a Colibri2Error, which JVB's
 * REST answer loses and a focus needs to fail over like Jicofo (`parseColibri2ErrorJson` reads both).
 */
import type http from 'node:http';
import type { Conference } from '../conference/Conference.ts';
import { Colibri2Error, conferenceNotFound } from '../colibri2/errors.ts';
import { colibri2ErrorJson, FAILED_PREFIX, parseConferenceModifyJson, serializeConferenceModifiedJson, type JsonObject } from '../colibri2/json.ts';
import type { ConferenceModifiedResponse, ConferenceModifyRequest } from '../colibri2/types.ts';
import type { Videobridge } from '../conference/Videobridge.ts';
import type { Logger } from '../logger.ts';
import { BodyTooLarge, readBody, sendJson } from './body.ts';

/** What the routes need of the bridge. */
export interface Colibri2RestBackend {
  /** `Videobridge.conferenceModify`: the one typed entry point. */
  conferenceModify(req: ConferenceModifyRequest): Promise<ConferenceModifiedResponse>;
  hasConference(meetingId: string): boolean;
  /** The speech-activity state of a conference, `undefined` when unknown. */
  speechActivity(meetingId: string): JsonObject | undefined;
}

/** The root of the routes. */
export const COLIBRI2_REST_ROOT = '/colibri/v2/conferences';

/** Largest conference-modify body accepted, bytes. */
export const MAX_COLIBRI2_BODY = 1024 * 1024;

/**
 * JVB's `ConferenceSpeechActivity.getDebugState(FULL)`: the dominant endpoint (the text `"null"` when none, as JVB
 * writes it), `dominantSpeakerIdentification` `null` (the detector is mediasoup's ActiveSpeakerObserver, which has no
 * state to show), endpoints by speech activity, and in last-N order (those with a video source first:
 * AbstractEndpoint.hasVideoAvailable; an endpoint behind a relay counts as without video).
 */
export function speechActivityJson(conference: Conference): JsonObject {
  const speech = conference.allocator.speech;
  const hasVideo = (id: string): boolean => conference.endpoint(id)?.sources.some((s) => s.type === 'video' && s.sources.length > 0) ?? false;
  return {
    dominantEndpoint: speech.dominant ?? 'null',
    dominantSpeakerIdentification: null,
    endpointsBySpeechActivity: [...speech.bySpeech],
    endpointsInLastNOrder: speech.lastNOrder(hasVideo),
  };
}

/** The routes' backend on a {@link Videobridge}. */
export function videobridgeRestBackend(vb: Pick<Videobridge, 'conferenceModify' | 'conferenceByMeetingId'>): Colibri2RestBackend {
  return {
    conferenceModify: (req) => vb.conferenceModify(req),
    hasConference: (meetingId) => vb.conferenceByMeetingId(meetingId) !== undefined,
    speechActivity: (meetingId) => {
      const c = vb.conferenceByMeetingId(meetingId);
      return c && speechActivityJson(c);
    },
  };
}

/** Whether `path` (normalised, no trailing slash) is under {@link COLIBRI2_REST_ROOT}. */
export function isColibri2RestPath(path: string): boolean {
  return path === COLIBRI2_REST_ROOT || path.startsWith(`${COLIBRI2_REST_ROOT}/`);
}

function sendRestError(res: http.ServerResponse, status: number, message: string, err?: Colibri2Error, headers?: http.OutgoingHttpHeaders): void {
  sendJson(res, status, colibri2ErrorJson(message, err), headers);
}

/** The media type of a `Content-Type`/`Accept` entry, lowercased, without parameters. */
const mediaType = (v: string): string => (v.split(';')[0] ?? '').trim().toLowerCase();
const JSON_COMPATIBLE = new Set(['application/json', 'application/*', '*/*']);

/** Jersey `@Consumes(APPLICATION_JSON)`: no Content-Type matches too. */
function consumesJson(contentType: string | undefined): boolean {
  return contentType === undefined || JSON_COMPATIBLE.has(mediaType(contentType));
}

/** Jersey `@Produces(APPLICATION_JSON)` against `Accept` (absent: anything). */
function producesJson(accept: string | undefined): boolean {
  return accept === undefined || accept.trim() === '' || accept.split(',').some((r) => JSON_COMPATIBLE.has(mediaType(r)));
}

type Route = { kind: 'root' } | { kind: 'conference'; meetingId: string } | { kind: 'speech'; meetingId: string };

/** The route of a path under the root, `undefined` for none (404). */
function route(path: string): Route | undefined {
  if (path === COLIBRI2_REST_ROOT) return { kind: 'root' };
  const segments = path.slice(COLIBRI2_REST_ROOT.length + 1).split('/');
  let meetingId: string;
  try {
    meetingId = decodeURIComponent(segments[0] ?? '');
  } catch {
    return undefined;
  }
  if (meetingId === '') return undefined;
  if (segments.length === 1) return { kind: 'conference', meetingId };
  if (segments.length === 2 && segments[1] === 'dominant-speaker-identification') return { kind: 'speech', meetingId };
  return undefined;
}

const ALLOWED: Record<Route['kind'], string[]> = { root: ['GET', 'POST'], conference: ['GET', 'PATCH'], speech: ['GET'] };

/**
 * Answer one request under {@link COLIBRI2_REST_ROOT} (the caller checked {@link isColibri2RestPath} and that the API
 * is enabled); routes and status codes in the module comment. Never rejects: every failure is answered (500 for an
 * unexpected one).
 */
export async function handleColibri2Rest(
  backend: Colibri2RestBackend,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
  log: Logger,
): Promise<void> {
  try {
    await serve(backend, req, res, path, log);
  } catch (err) {
    log.error({ err, path }, 'colibri2 REST handler failed');
    if (!res.headersSent) sendRestError(res, 500, 'Internal Server Error');
  }
}

async function serve(backend: Colibri2RestBackend, req: http.IncomingMessage, res: http.ServerResponse, path: string, log: Logger): Promise<void> {
  const r = route(path);
  if (!r) return sendRestError(res, 404, 'Not Found');
  const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
  const allowed = ALLOWED[r.kind];
  if (!allowed.includes(method)) return sendRestError(res, 405, 'Method Not Allowed', undefined, { Allow: [...allowed, 'HEAD'].join(', ') });
  if (method !== 'GET' && !consumesJson(req.headers['content-type'])) return sendRestError(res, 415, 'Unsupported Media Type');
  if (!producesJson(req.headers.accept)) return sendRestError(res, 406, 'Not Acceptable');

  if (method === 'GET') {
    if (r.kind === 'speech') {
      const state = backend.speechActivity(r.meetingId);
      return state ? sendJson(res, 200, state) : sendRestError(res, 404, 'Not Found', conferenceNotFound(r.meetingId));
    }
    if (r.kind === 'conference' && !backend.hasConference(r.meetingId)) return sendRestError(res, 404, 'Not Found', conferenceNotFound(r.meetingId));
    return sendRestError(res, 501, 'Not Implemented');
  }

  // POST on the root, PATCH on a conference. JVB looks the conference up before reading the body.
  const meetingId = r.kind === 'conference' ? r.meetingId : undefined;
  if (meetingId !== undefined && !backend.hasConference(meetingId)) return sendRestError(res, 404, 'Not Found', conferenceNotFound(meetingId));
  let text: string;
  try {
    text = await readBody(req, MAX_COLIBRI2_BODY);
  } catch (err) {
    if (err instanceof BodyTooLarge) return sendRestError(res, 413, err.message, undefined, { Connection: 'close' });
    // The client went away in the middle of its body: nobody to answer, nothing failed here.
    if (req.destroyed && !req.complete) return void log.debug({ path }, 'colibri2 REST request aborted by the client');
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return sendRestError(res, 400, `Failed to create conference, could not parse JSON: ${(err as Error).message}`);
  }
  let request: ConferenceModifyRequest;
  try {
    request = parseConferenceModifyJson(json, meetingId === undefined ? {} : { meetingId });
  } catch (err) {
    const c2 = err as Colibri2Error; // parseConferenceModifyJson throws nothing else
    log.info({ text: c2.message, path }, 'colibri2 REST request refused: malformed');
    return sendRestError(res, 400, `Failed to parse ConferenceModify JSON:${c2.message}`, c2);
  }
  let response: ConferenceModifiedResponse;
  try {
    response = await backend.conferenceModify(request);
  } catch (err) {
    if (!(err instanceof Colibri2Error)) throw err;
    // As the XMPP layer logs it: item-not-found is often just a late request for something expired.
    log[err.condition === 'item-not-found' ? 'warn' : 'error'](
      { condition: err.condition, reason: err.reason, text: err.message, meetingId: request.meetingId },
      'colibri2 REST request refused',
    );
    return sendRestError(res, 400, `${FAILED_PREFIX}${err.message}`, err);
  }
  log.debug({ meetingId: request.meetingId }, 'colibri2 REST conference-modify');
  sendJson(res, 200, serializeConferenceModifiedJson(response));
}
