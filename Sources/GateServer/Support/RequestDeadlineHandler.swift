import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request does not arrive whole within `limit` of its head.
///
/// Hummingbird's idle timeout closes connections that send nothing (idle keep-alive connections, and headers sent
/// so slowly that no request head is ever complete), but every body chunk counts as activity, so a body sent one
/// byte a minute would hold a connection, and its buffers, forever. This bounds the whole request instead.
final class RequestDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let limit: TimeAmount
    private var deadline: Scheduled<Void>?

    init(limit: TimeAmount) {
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            deadline?.cancel()
            let channelContext = context
            deadline = context.eventLoop.assumeIsolated().scheduleTask(in: limit) {
                channelContext.close(promise: nil)
            }
        case .body:
            break
        case .end:
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }
}
