%% Prints terms as io:format("~0tp~n", [T]) does, one per line, for the
%% Swift printer's interop tests (PrinterInteropTests.swift).
%%
%%   erl +pc unicode -noshell -pa DIR -run ergo_print_terms terms FILE
%%       FILE holds Erlang expressions in UTF-8, each ending with '.'
%%       (terms, and anything else that evaluates to one: fun m:f/1,
%%       <<1:3>>, list_to_atom(...)).
%%   erl +pc unicode -noshell -pa DIR -run ergo_print_terms floats FILE
%%       FILE holds integers, each ending with '.': the IEEE 754 bit patterns
%%       of doubles; each is printed as the float.
%%
%% Exits with status 0 when done, 2 (and a message on standard error) when
%% the input cannot be read.
-module(ergo_print_terms).
-export([terms/1, floats/1]).

terms([File]) ->
    run(fun() ->
        [io:format("~0tp~n", [T]) || T <- read(File)]
    end).

floats([File]) ->
    run(fun() ->
        [begin
             <<F/float>> = <<Bits:64>>,
             io:format("~0tp~n", [F])
         end || Bits <- read(File)]
    end).

run(Body) ->
    try
        ok = io:setopts(standard_io, [{encoding, unicode}]),
        Body(),
        init:stop(0)
    catch Class:Reason ->
        io:format(standard_error, "ergo_print_terms: ~p:~0tp~n", [Class, Reason]),
        erlang:halt(2)
    end.

%% The value of each expression in the file, in order.
read(File) ->
    {ok, Bytes} = file:read_file(File),
    values(unicode:characters_to_list(Bytes), 1).

values(Chars, Line) ->
    case erl_scan:tokens([], Chars, Line) of
        {done, {ok, Tokens, End}, Rest} ->
            {ok, Exprs} = erl_parse:parse_exprs(Tokens),
            {value, Value, _} = erl_eval:exprs(Exprs, erl_eval:new_bindings()),
            [Value | values(Rest, End)];
        {done, {eof, _}, _} ->
            [];
        {more, _} ->
            []
    end.
