%% Erlang side of ergo-bench's B10 (interop-call-to-erlang and
%% interop-call-from-erlang); ergo-bench compiles it into a scratch folder.
%%
%% serve/0:    registers a gen_server `ergo_bench_peer` replying `ok` to
%%             `ping` (and to a binary), its pid to `whereami`; the Swift
%%             node calls it (B10 interop-call-to-erlang).
%% client/2:   B3 from Erlang against a Swift server registered as Name on
%%             Node: looks its pid up with `whereami`, 1,000 warm-up calls,
%%             then 3 runs, each repeating 100,000 sequential
%%             gen_server:call(Pid, ping) until at least 1 s has passed;
%%             prints "rate <calls/s>" per run and halts
%%             (B10 interop-call-from-erlang).
%% Both halt after 10 minutes at the latest.
-module(ergo_bench_peer).
-behaviour(gen_server).
-export([serve/0, client/2]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(CALLS, 100000).
-define(RUNS, 3).

serve() ->
    watchdog(),
    {ok, _} = gen_server:start({local, ergo_bench_peer}, ?MODULE, [], []),
    io:format("ready~n").

init([]) -> {ok, nostate}.
handle_call(ping, _From, S) -> {reply, ok, S};
handle_call(whereami, _From, S) -> {reply, self(), S};
handle_call(Bin, _From, S) when is_binary(Bin) -> {reply, ok, S}.
handle_cast(_, S) -> {noreply, S}.
handle_info(_, S) -> {noreply, S}.

client(Node, Name) ->
    watchdog(),
    connect(Node, 50),
    Pid = gen_server:call({Name, Node}, whereami),
    call_loop(Pid, 1000),
    [io:format("rate ~w~n", [run(Pid)]) || _ <- lists:seq(1, ?RUNS)],
    erlang:halt(0).

connect(Node, 0) -> io:format("error cannot reach ~s~n", [Node]), erlang:halt(1);
connect(Node, N) ->
    case net_adm:ping(Node) of
        pong -> ok;
        pang -> timer:sleep(100), connect(Node, N - 1)
    end.

run(Pid) ->
    T0 = erlang:monotonic_time(nanosecond),
    run(Pid, T0, 0).

run(Pid, T0, Calls) ->
    call_loop(Pid, ?CALLS),
    Secs = (erlang:monotonic_time(nanosecond) - T0) / 1.0e9,
    case Secs >= 1.0 of
        true -> (Calls + ?CALLS) / Secs;
        false -> run(Pid, T0, Calls + ?CALLS)
    end.

call_loop(_Pid, 0) -> ok;
call_loop(Pid, N) ->
    ok = gen_server:call(Pid, ping),
    call_loop(Pid, N - 1).

watchdog() ->
    spawn(fun() -> timer:sleep(600000), erlang:halt(2) end).
