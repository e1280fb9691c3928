/**
 * Where a conference sends the endpoint-to-endpoint traffic of its bridge channels, `EndpointMessage` and
 * `EndpointStats`, across the local endpoints and the relays to other bridges. Pure: the conference gives the ids and
 * acts on the answer.
 *
 * From a local endpoint (JVB `EndpointMessageTransport.java` `endpointMessage` / `endpointStats`, with
 * `Conference.java` `sendMessage`):
 * - an `EndpointMessage` broadcast goes to every other local endpoint and to every relay; one to an endpoint goes to
 *   that endpoint when it is local, else to the relay it is behind;
 * - `EndpointStats` go to the other local endpoints that want the sender's stats ({@link wantsStatsFrom}) and to every
 *   relay (the other bridge filters for its own endpoints).
 *
 * From a relay (JVB `RelayMessageTransport.kt` `endpointMessage` / `endpointStats`): to local endpoints only (a
 * broadcast to all of them, one to an endpoint only when it is local, stats to those that want them), never on to
 * another relay. JVB forwards these to the relays of *other* meshes (`Conference.sendMessageFromRelay`), which never
 * happens in a single full mesh (Jicofo's SingleMeshTopologyStrategy, and octobridge's focus); octobridge is one hop
 * for media as for messages, so a message can never loop between bridges.
 */

/** Where one message goes: local endpoint ids and relay ids (the two halves of JVB `Conference.java` `sendMessage`). */
export interface MessageTargets {
  endpoints: string[];
  relays: string[];
}

/** What routing needs to know of a conference (JVB `Conference.java` `getLocalEndpoints`, `getEndpoint`, relays). */
export interface RoutingView {
  /** Ids of the endpoints on this bridge. */
  localEndpoints: readonly string[];
  /** The relays to other bridges, and whether an endpoint is behind one (JVB `RelayedEndpoint`). */
  relays: readonly { id: string; hasEndpoint(endpointId: string): boolean }[];
}

/**
 * Where a message came from: a local endpoint (JVB `EndpointMessageTransport.java`), or a relay, the other bridge
 * having sent it for one of its endpoints (JVB `RelayMessageTransport.kt`).
 */
export type MessageOrigin = { endpoint: string } | { relay: string };

/**
 * The targets of an `EndpointMessage` (JVB `EndpointMessageTransport.endpointMessage`, `RelayMessageTransport.kt`
 * `endpointMessage`). `to` is the message's `to`, `undefined` for a broadcast.
 * @returns undefined when `to` names no endpoint this origin can reach (JVB logs and drops it).
 */
export function endpointMessageTargets(view: RoutingView, origin: MessageOrigin, to: string | undefined): MessageTargets | undefined {
  const fromRelay = 'relay' in origin;
  if (to === undefined) {
    return {
      endpoints: fromRelay ? [...view.localEndpoints] : view.localEndpoints.filter((id) => id !== origin.endpoint),
      relays: fromRelay ? [] : view.relays.map((r) => r.id),
    };
  }
  if (view.localEndpoints.includes(to)) return { endpoints: [to], relays: [] };
  if (fromRelay) return undefined;
  const relay = view.relays.find((r) => r.hasEndpoint(to));
  return relay ? { endpoints: [], relays: [relay.id] } : undefined;
}

/**
 * The targets of `EndpointStats` from `sender` (JVB `EndpointMessageTransport.endpointStats`,
 * `RelayMessageTransport.kt` `endpointStats`): the local endpoints but the sender for which `wants(receiver)`
 * ({@link wantsStatsFrom}), and every relay when the sender is local.
 */
export function endpointStatsTargets(view: RoutingView, origin: MessageOrigin, sender: string, wants: (receiver: string) => boolean): MessageTargets {
  return {
    endpoints: view.localEndpoints.filter((id) => id !== sender && wants(id)),
    relays: 'relay' in origin ? [] : view.relays.map((r) => r.id),
  };
}

/** What {@link wantsStatsFrom} looks at, for one sender (JVB `Endpoint.kt` `wantsStatsFrom`). */
export interface StatsFilter {
  /** Endpoints in the conference, local and behind relays (JVB `Conference.java` `getEndpointCount`). */
  conferenceSize: number;
  /** `videobridge.stats-filter-threshold` (20): at or below this size every endpoint gets every endpoint's stats. */
  threshold: number;
  /** Whether the sender is among the recent speakers (JVB `RecentSpeakersList.kt` `isRecentSpeaker`). */
  senderIsRecentSpeaker: () => boolean;
  /**
   * Whether the sender is a ranked speaker (JVB `Conference.java` `isRankedSpeaker`): always true unless only the loudest
   * speakers' audio is routed (`videobridge.loudest.route-loudest-only`, false by default).
   */
  senderIsRankedSpeaker: () => boolean;
  /**
   * Whether `receiver` has one of the sender's video sources on stage or selected, or non-zero effective constraints
   * for one (JVB `BitrateController.kt` `isOnStageOrSelected` / `hasNonZeroEffectiveConstraints`).
   */
  receiverWantsVideo: (receiver: string) => boolean;
}

/**
 * Whether `receiver` gets the sender's `EndpointStats` (JVB `Endpoint.kt` `wantsStatsFrom`): always in a conference
 * of at most `threshold` endpoints; above it, when the sender is a recent or ranked speaker, or when the receiver
 * wants its video.
 */
export function wantsStatsFrom(filter: StatsFilter, receiver: string): boolean {
  if (filter.conferenceSize <= filter.threshold) return true;
  if (filter.senderIsRecentSpeaker() || filter.senderIsRankedSpeaker()) return true;
  return filter.receiverWantsVideo(receiver);
}
