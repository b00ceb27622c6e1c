// The ResponseHeader every gateway answer starts with. The state machine
// knows the revision; the member adds who answered and in which Raft term.
// cluster_id and member_id are uint64s that real etcd draws from a hash
// (e.g. 14443903163313418560), beyond a double's exact range: decimal text.

export interface GatewayHeaderContext {
  /** uint64 as decimal text. */
  readonly clusterId: string;
  /** uint64 as decimal text. */
  readonly memberId: string;
  readonly raftTerm: number;
}

export interface GatewayHeader extends GatewayHeaderContext {
  readonly revision: number;
}
