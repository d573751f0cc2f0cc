%% A real Erlang node driven by a Swift test over its standard input.
%%
%% Each request is one line: base64 of term_to_binary({Expr, Bindings}),
%% Expr being Erlang source text (ending in a dot) and Bindings a list of
%% {'Var', Value}. The node evaluates Expr with those variables bound and
%% answers with one line "ergo-reply:" ++ base64 of term_to_binary of
%% {ok, Value} or {error, {Class, Reason}}. End of input stops the node.
%% Messages the shell process receives stay in its mailbox for `receive`
%% expressions in later requests.
-module(ergo_peer).
-export([start/0, log/2]).

start() ->
    ok = io:setopts(standard_io, [binary]),
    io:format("ergo-ready:~s~n", [node()]),
    loop().

loop() ->
    case io:get_line('') of
        eof ->
            init:stop(0);
        {error, _} ->
            init:stop(1);
        Line ->
            Reply = handle(string:trim(Line)),
            Encoded = base64:encode(term_to_binary(Reply)),
            io:format("ergo-reply:~s~n", [Encoded]),
            loop()
    end.

handle(Line) ->
    try
        {Source, Bindings} = binary_to_term(base64:decode(Line)),
        {ok, Tokens, _} = erl_scan:string(unicode:characters_to_list(Source)),
        {ok, Exprs} = erl_parse:parse_exprs(Tokens),
        Bound = lists:foldl(fun({Name, Value}, Acc) -> erl_eval:add_binding(Name, Value, Acc) end,
                            erl_eval:new_bindings(), Bindings),
        {value, Value, _} = erl_eval:exprs(Exprs, Bound),
        {ok, Value}
    catch
        Class:Reason -> {error, {Class, Reason}}
    end.

%% A logger handler that forwards each event to a process as
%% {ergo_log, Level, Text}, so a test can check what the node logged:
%%     logger:add_handler(ergo_capture, ergo_peer, #{level => warning, config => #{to => self()}})
log(#{level := Level} = Event, #{config := #{to := Pid}}) ->
    Text = unicode:characters_to_binary(logger_formatter:format(Event, #{single_line => true})),
    Pid ! {ergo_log, Level, Text},
    ok.
