/**
 * The `agora.v1.Scheduler` gRPC service, as a grpc-js service definition built from the
 * generated protobuf types. The master serves it and the SDK calls it; both use this one
 * definition, so the paths and codecs cannot drift apart.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { pb, decodeAs } from './proto';

interface MessageType<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(bytes: Uint8Array): T;
}

function method<Req, Res>(
  name: string, req: MessageType<Req>, reqName: string, res: MessageType<Res>, resName: string, responseStream = false,
): MethodDefinition<Req, Res> {
  return {
    path: `/agora.v1.Scheduler/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: (m: Req) => Buffer.from(req.encode(m).finish()),
    requestDeserialize: (b: Buffer) => decodeAs(req, reqName, b),
    responseSerialize: (m: Res) => Buffer.from(res.encode(m).finish()),
    responseDeserialize: (b: Buffer) => decodeAs(res, resName, b),
  };
}

const unary = <Req>(name: string, req: MessageType<Req>) =>
  method(name, req, `${name}Request`, pb.CallResponse, 'CallResponse');

export const schedulerService = {
  Subscribe: method('Subscribe', pb.SubscribeRequest, 'SubscribeRequest', pb.Event, 'Event', true),
  Accept: unary('Accept', pb.AcceptRequest),
  Decline: unary('Decline', pb.DeclineRequest),
  Revive: unary('Revive', pb.ReviveRequest),
  Suppress: unary('Suppress', pb.SuppressRequest),
  Kill: unary('Kill', pb.KillRequest),
  Acknowledge: unary('Acknowledge', pb.AcknowledgeRequest),
  Reconcile: unary('Reconcile', pb.ReconcileRequest),
  Message: unary('Message', pb.MessageRequest),
  Teardown: unary('Teardown', pb.TeardownRequest),
  UpdateFramework: unary('UpdateFramework', pb.UpdateFrameworkRequest),
  GetAgents: method('GetAgents', pb.GetAgentsRequest, 'GetAgentsRequest', pb.GetAgentsResponse, 'GetAgentsResponse'),
} satisfies ServiceDefinition;

export type SchedulerService = typeof schedulerService;

/** The unary calls, i.e. every method but Subscribe. */
export type UnaryCall = Exclude<keyof SchedulerService, 'Subscribe'>;

/** The calls that change something and answer an empty CallResponse; the others answer data. */
export type ActionCall = Exclude<UnaryCall, 'GetAgents'>;

/**
 * The trailing metadata key under which a standby master names the leader's gRPC address
 * (host:port) when it refuses a call UNAVAILABLE; the SDK goes there next.
 */
export const LEADER_METADATA_KEY = 'agora-leader';
