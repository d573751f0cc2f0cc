%% etf_gen: random Erlang terms for Ergo's property interop test
%% (Tests/ErgoTests/PropertyInteropTests.swift), and Erlang's side of the checks.
%%
%% The test compiles this module into a temporary directory and runs it as
%%
%%   erl +pc unicode -noshell -pa DIR -run etf_gen generate SEED COUNT OUTDIR
%%   erl +pc unicode -noshell -pa DIR -run etf_gen verify ORIGINAL OURS exact|term ...
%%
%% Files of terms are records <<Length:32/big, Bytes:Length/binary>>, back to back.
%% `generate` writes, for the same terms in the same order:
%%   plain.etfs       term_to_binary(T, [{minor_version, 2}])
%%   compressed.etfs  term_to_binary(T, [{compressed, 1..9}, {minor_version, 2}])
%%   legacy.etfs      term_to_binary(T, [{minor_version, 0}])  (FLOAT_EXT, Latin-1 ATOM_EXT)
%%   printed.etfs     io_lib:format("~0tp", [T]) as UTF-8 (run erl with +pc unicode
%%                    to print lists of any code point as strings, as Ergo does)
%% The same SEED gives the same terms, except for the values only a running
%% system makes (self(), make_ref(), the pid inside a fun).
-module(etf_gen).
-export([generate/1, verify/1]).

%% ---- Entry points (each halts the VM: 0 on success) -------------------------

generate([SeedText, CountText, Dir]) ->
    run(fun() ->
        Seed = list_to_integer(SeedText),
        rand:seed(exsss, Seed),
        Terms = edge_terms() ++ [random_term() || _ <- lists:seq(1, list_to_integer(CountText))],
        Write = fun(Name, Encode) ->
            ok = file:write_file(filename:join(Dir, Name), [record(Encode(T)) || T <- Terms])
        end,
        Write("plain.etfs", fun(T) -> term_to_binary(T, [{minor_version, 2}]) end),
        Write("compressed.etfs", fun(T) ->
            term_to_binary(T, [{compressed, rand:uniform(9)}, {minor_version, 2}])
        end),
        Write("legacy.etfs", fun(T) -> term_to_binary(T, [{minor_version, 0}]) end),
        Write("printed.etfs", fun(T) ->
            unicode:characters_to_binary(io_lib:format("~0tp", [T]))
        end),
        io:format("generated ~b terms (seed ~b)~n", [length(Terms), Seed])
    end).

%% verify ORIGINAL OURS MODE [ORIGINAL OURS MODE ...]: for each pair of files,
%% every record of OURS must decode to the term ORIGINAL's record decodes to
%% (=:=), and in mode `exact` the bytes must also be the same.
verify(Args) ->
    run(fun() ->
        Failures = lists:append([verify_pair(O, U, list_to_atom(M)) || [O, U, M] <- triples(Args)]),
        case Failures of
            [] -> io:format("ok~n");
            _ ->
                [io:format("~ts~n", [F]) || F <- lists:sublist(Failures, 5)],
                io:format("~b mismatches~n", [length(Failures)]),
                halt(1)
        end
    end).

run(Body) ->
    ok = io:setopts([{encoding, unicode}]),
    try Body() of
        _ -> halt(0)
    catch Class:Reason:Stack ->
        io:format(standard_error, "etf_gen: ~p:~0p~n~0p~n", [Class, Reason, Stack]),
        halt(2)
    end.

triples([A, B, C | Rest]) -> [[A, B, C] | triples(Rest)];
triples([]) -> [].

verify_pair(OriginalFile, OursFile, Mode) ->
    Originals = records(OriginalFile),
    Ours = records(OursFile),
    case length(Originals) =:= length(Ours) of
        false ->
            [io_lib:format("~ts: ~b records, ~ts: ~b", [OriginalFile, length(Originals),
                                                        OursFile, length(Ours)])];
        true ->
            Pairs = lists:zip3(lists:seq(0, length(Ours) - 1), Originals, Ours),
            [Message || {I, Orig, Mine} <- Pairs, Message <- check(I, Orig, Mine, Mode, OursFile)]
    end.

check(I, Orig, Mine, Mode, File) ->
    Expected = binary_to_term(Orig),
    case catch binary_to_term(Mine) of
        Expected when Mode =:= term; Mine =:= Orig -> [];
        Expected ->
            [io_lib:format("~ts #~b: same term, other bytes: ~0tp~n  Erlang: ~w~n  ours:   ~w",
                           [File, I, cut(io_lib:format("~0tp", [Expected]), 300),
                            cut_bytes(Orig), cut_bytes(Mine)])];
        Other ->
            [io_lib:format("~ts #~b: expected ~ts~n  got ~ts",
                           [File, I, cut(io_lib:format("~0tp", [Expected]), 300),
                            cut(io_lib:format("~0tp", [Other]), 300)])]
    end.

record(Bytes) -> [<<(byte_size(Bytes)):32>>, Bytes].

records(File) ->
    {ok, Data} = file:read_file(File),
    split(Data).

split(<<N:32, Bytes:N/binary, Rest/binary>>) -> [Bytes | split(Rest)];
split(<<>>) -> [].

cut(Chars, Max) ->
    Flat = lists:flatten(Chars),
    case length(Flat) > Max of
        true -> lists:sublist(Flat, Max) ++ "...";
        false -> Flat
    end.

cut_bytes(<<Head:120/binary, _/binary>>) -> <<Head/binary, "...">>;
cut_bytes(Bytes) -> Bytes.

%% ---- Fixed terms: every boundary once ----------------------------------------

edge_terms() ->
    Ints = [0, 1, 255, 256, -1, -255, -256,
            2147483647, 2147483648, -2147483648, -2147483649,
            4294967295, 4294967296,
            9223372036854775807, 9223372036854775808,
            -9223372036854775808, -9223372036854775809,
            18446744073709551615, 18446744073709551616, -18446744073709551616,
            1 bsl 2039, (1 bsl 2040) - 1, 1 bsl 2040, -(1 bsl 2040),   % SMALL_BIG/LARGE_BIG edge
            pow10(1000), -pow10(1000) - 7, pow10(5000) + 12345],
    Floats = [0.0, negative_zero(), 1.0, -1.0, 0.1, 1.0e23, 123456789.0, 1.0e15, 1.0e16,
              3.141592653589793, 1.0e-300, float_of(1), float_of(16#000FFFFFFFFFFFFF),
              float_of(16#8000000000000001), float_of(16#0010000000000000),
              float_of(16#7FEFFFFFFFFFFFFF), float_of(16#FFEFFFFFFFFFFFFF),
              9007199254740993.0, 5.0e-324, -2.2250738585072014e-308],
    Atoms = ['', ok, 'Ok', 'hello world', 'it\'s', 'a\nb\tc\\', 'receive', 'a@b.c', '_x',
             'café', 'ÿ', 'Ñandú', 'über', '×', list_to_atom([0, 1, 31, 127]),
             list_to_atom([16#1F600]), list_to_atom("日本語"), list_to_atom("αβγ"),
             list_to_atom(lists:duplicate(255, $a)), list_to_atom(lists:duplicate(255, 16#FF)),
             list_to_atom(lists:duplicate(255, 16#1F680)),
             list_to_atom([random_char() || _ <- lists:seq(1, 255)]),
             true, false, undefined, nil,
             %% Distinct atoms whose names Unicode calls canonically equivalent
             %% (U+037E and ';', U+0387 and U+00B7, e + U+0301 and U+00E9).
             list_to_atom([16#37E]), ';', list_to_atom([16#387]), '·',
             list_to_atom([$e, 16#301]), list_to_atom([16#E9])],
    Bits = [<<N:Len>> || Len <- lists:seq(1, 64), N <- [(1 bsl Len) - 1, Len]],
    Binaries = [<<>>, <<"hello">>, <<"héllo"/utf8>>, <<0, 255>>, bytes(63), bytes(64),
                bytes(65), bytes(300), bytes(70000)],
    Lists = [[], "", "a", "hello", "héllo", [0, 255], [256], [-1], [1000, 2000],
             lists:duplicate(65535, $x), lists:duplicate(65536, $x), lists:seq(1, 300),
             [a | b], [1, 2 | 3], [[] | <<>>], ["x" | 'tail'], [[[[]]]]],
    Tuples = [{}, {a}, {{}}, list_to_tuple(lists:seq(1, 255)), list_to_tuple(lists:seq(1, 256)),
              list_to_tuple(lists:duplicate(1000, x))],
    Maps = [#{}, #{a => 1}, #{{1, 2} => #{}}, #{#{k => v} => [#{}]},
            #{1 => a, 1.0 => b, <<"1">> => c, "1" => d, '1' => e, [] => f, {} => g},
            map_of(32), map_of(33), map_of(100), map_of(5000),
            #{0.0 => zero, negative_zero() => negative_zero},
            maps:from_list([{{K, [K]}, #{K => map_of(K rem 40)}} || K <- lists:seq(1, 40)])],
    Ids = [self(), list_to_pid("<0.100.5>"), make_ref(), alias(), erlang:list_to_port("#Port<0.5>"),
           external_pid(<<"other@host">>, 1, 2, 3),
           external_pid(unicode:characters_to_binary([$n, 16#1F600, $@, $h]), 4294967295, 4294967295, 4294967295),
           external_port(<<"other@host">>, 77, 9), external_port(<<"p@h">>, 16#FFFFFFFFFFFFFFFF, 0),
           external_port(<<"p@h">>, 16#100000000, 1),
           %% ERTS writes NEW_PORT_EXT up to 28 bits, V4_PORT_EXT above.
           external_port(<<"p@h">>, 16#FFFFFFF, 1), external_port(<<"p@h">>, 16#10000000, 1),
           external_port(<<"p@h">>, 16#FFFFFFFF, 1)]
        ++ [external_ref(<<"other@host">>, 3, lists:seq(1, N)) || N <- lists:seq(1, 5)],
    Funs = [fun erlang:abs/1, fun lists:map/2, erlang:make_fun('Some Module', 'fün', 255),
            make_fun(0, []), make_fun(1, [self()]), make_fun(2, [1, {x}]),
            make_fun(3, [<<"b">>, [], make_fun(1, [fun erlang:abs/1])])],
    Deep = [deep(N) || N <- [1, 10, 40, 45]] ++ [deep_list(200), deep_tuple(200)],
    Ints ++ [-I || I <- Ints] ++ Floats ++ [-F || F <- Floats] ++ Atoms ++ Bits ++ Binaries
        ++ Lists ++ Tuples ++ Maps ++ Ids ++ Funs ++ Deep
        ++ [{Ints, Floats, Atoms, Bits, Binaries, Tuples, Maps, Ids, Funs}].

pow10(N) -> pow10(N, 1).
pow10(0, Acc) -> Acc;
pow10(N, Acc) -> pow10(N - 1, Acc * 10).

negative_zero() -> float_of(16#8000000000000000).

float_of(Bits) ->
    <<F/float>> = <<Bits:64>>,
    F.

bytes(N) -> list_to_binary([I rem 256 || I <- lists:seq(1, N)]).

map_of(N) -> maps:from_list([{list_to_atom("key" ++ integer_to_list(I)), I} || I <- lists:seq(1, N)]).

deep_list(0) -> [];
deep_list(N) -> [deep_list(N - 1)].

deep_tuple(0) -> {};
deep_tuple(N) -> {deep_tuple(N - 1)}.

%% Pids, ports and references of another node, built from their ETF form.
atom_ext(Name) -> <<119, (byte_size(Name)), Name/binary>>.

external_pid(Node, Id, Serial, Creation) ->
    binary_to_term(<<131, 88, (atom_ext(Node))/binary, Id:32, Serial:32, Creation:32>>).

external_port(Node, Id, Creation) when Id > 16#FFFFFFFF ->
    binary_to_term(<<131, 120, (atom_ext(Node))/binary, Id:64, Creation:32>>);
external_port(Node, Id, Creation) ->
    binary_to_term(<<131, 89, (atom_ext(Node))/binary, Id:32, Creation:32>>).

external_ref(Node, Creation, Words) ->
    binary_to_term(<<131, 90, (length(Words)):16, (atom_ext(Node))/binary, Creation:32,
                     (<< <<W:32>> || W <- Words >>)/binary>>).

%% Local funs with 0 to 3 free variables.
make_fun(0, []) -> fun() -> ok end;
make_fun(1, [A]) -> fun() -> A end;
make_fun(2, [A, B]) -> fun(X) -> {A, B, X} end;
make_fun(3, [A, B, C]) -> fun(X, Y) -> [A, B, C, X, Y] end.

%% ---- Random terms ------------------------------------------------------------

%% A term of about Budget nodes; sometimes a deep chain instead.
random_term() ->
    case rand:uniform(20) of
        1 -> deep(rand:uniform(45));
        2 -> term(rand:uniform(2000), 0);
        _ -> term(rand:uniform(80), 0)
    end.

term(Budget, Depth) when Budget =< 1; Depth >= 40 -> leaf();
term(Budget, Depth) ->
    case rand:uniform(12) of
        1 -> leaf();
        2 -> list_to_tuple(children(Budget, Depth));
        3 -> children(Budget, Depth);
        4 -> children(Budget, Depth);
        5 -> improper(children(Budget, Depth), Depth);
        6 -> maps:from_list(pairs(children(Budget, Depth), Depth));
        7 -> maps:from_list(pairs(children(Budget, Depth), Depth) ++ wide_keys(Budget));
        8 -> random_fun(children(min(Budget, 20), Depth));
        9 -> string();
        10 -> [random_int() || _ <- lists:seq(1, rand:uniform(20))];
        11 -> {term(Budget div 2, Depth + 1), term(Budget div 2, Depth + 1)};
        12 -> [{atom(), term(Budget - 1, Depth + 1)} | children(Budget div 2, Depth)]
    end.

%% Spreads Budget - 1 nodes over 1 to Budget - 1 children.
children(Budget, _Depth) when Budget =< 1 -> [leaf()];
children(Budget, Depth) ->
    Width = rand:uniform(min(Budget - 1, 60)),
    Share = max(1, (Budget - 1) div Width),
    [term(rand:uniform(Share), Depth + 1) || _ <- lists:seq(1, Width)].

improper(Elements, Depth) ->
    Tail = case leaf() of
               L when is_list(L) -> term(3, Depth);
               T -> T
           end,
    case is_list(Tail) of
        true -> Elements;
        false -> Elements ++ Tail
    end.

pairs(Values, _Depth) ->
    [{key(), V} || V <- Values].

%% More than 32 keys makes a hash map (a different layout in memory and on the wire).
wide_keys(Budget) when Budget > 20 ->
    [{key(), leaf()} || _ <- lists:seq(1, 33 + rand:uniform(40))];
wide_keys(_) -> [].

key() ->
    case rand:uniform(8) of
        1 -> random_int();
        2 -> binary();
        3 -> {atom(), random_int()};
        4 -> #{atom() => leaf()};
        5 -> [leaf(), leaf()];
        6 -> random_float();
        _ -> atom()
    end.

random_fun(Values) ->
    case rand:uniform(4) of
        1 -> element(rand:uniform(3), {fun erlang:abs/1, fun lists:foldl/3,
                                       erlang:make_fun(atom(), atom(), rand:uniform(256) - 1)});
        _ ->
            N = min(length(Values), rand:uniform(4) - 1),
            make_fun(N, lists:sublist(Values, N))
    end.

%% A chain of Depth containers of every kind, one inside the next.
deep(0) -> leaf();
deep(Depth) ->
    X = deep(Depth - 1),
    case rand:uniform(10) of
        1 -> {X};
        2 -> [X];
        3 -> [X | leaf_not_list()];
        4 -> #{atom() => X};
        5 -> #{X => leaf()};
        6 -> {atom(), X, random_int()};
        7 -> make_fun(1, [X]);
        8 -> [1, X, <<"x">>];
        9 -> maps:put(X, X, map_of(33));
        10 -> {leaf(), [leaf(), #{k => [X]}]}
    end.

leaf_not_list() ->
    case leaf() of
        L when is_list(L) -> atom();
        T -> T
    end.

leaf() ->
    case rand:uniform(16) of
        1 -> atom();
        2 -> atom();
        3 -> random_int();
        4 -> random_int();
        5 -> random_float();
        6 -> binary();
        7 -> bitstring();
        8 -> string();
        9 -> element(rand:uniform(3), {[], {}, #{}});
        10 -> identifier();
        11 -> random_fun([]);
        12 -> big_int();
        13 -> unicode_text();
        14 -> [random_char() || _ <- lists:seq(1, rand:uniform(6))];
        15 -> rand:uniform(256) - 1;
        16 -> element(rand:uniform(3), {true, false, undefined})
    end.

atom() ->
    case rand:uniform(10) of
        1 -> list_to_atom([random_char() || _ <- lists:seq(1, rand:uniform(255))]);
        2 -> list_to_atom([rand:uniform(256) - 1 || _ <- lists:seq(1, rand:uniform(20) - 1)]);
        3 -> list_to_atom([random_char() || _ <- lists:seq(1, rand:uniform(8))]);
        4 -> list_to_atom(lists:duplicate(255, random_char()));
        _ -> list_to_atom([element(rand:uniform(4), {$a, $b, $_, $Z}) | integer_to_list(rand:uniform(500))])
    end.

%% A code point from a mix of scripts: ASCII, controls, Latin-1, Greek, CJK,
%% emoji, and anything else below 0x10FFFF that is not a surrogate.
random_char() ->
    {Low, High} = element(rand:uniform(9), {{$a, $z}, {$A, $Z}, {32, 126}, {0, 31}, {160, 255},
                                            {16#370, 16#3FF}, {16#4E00, 16#9FFF},
                                            {16#1F300, 16#1F64F}, {16#E000, 16#10FFFF}}),
    Low + rand:uniform(High - Low + 1) - 1.

random_int() ->
    case rand:uniform(8) of
        1 -> rand:uniform(256) - 1;
        2 -> -rand:uniform(1000);
        3 -> rand:uniform(1 bsl 32) - (1 bsl 31) - 1;
        4 -> rand:uniform(1 bsl 64) - (1 bsl 63) - 1;
        5 -> element(rand:uniform(8), {2147483647, -2147483648, 2147483648, -2147483649,
                                       9223372036854775807, -9223372036854775808,
                                       9223372036854775808, -9223372036854775809});
        6 -> rand:uniform(1 bsl 70) - (1 bsl 69);
        _ -> rand:uniform(100000) - 50000
    end.

%% From 9 bytes to thousands of digits.
big_int() ->
    Bits = case rand:uniform(10) of
               1 -> 2000 + rand:uniform(20000);
               _ -> 64 + rand:uniform(300)
           end,
    Sign = element(rand:uniform(2), {1, -1}),
    Sign * ((1 bsl Bits) + rand:uniform(1 bsl 64)).

random_float() ->
    case rand:uniform(6) of
        1 ->
            case <<(rand:uniform(1 bsl 64) - 1):64>> of
                <<F/float>> -> F;
                _ -> 1.5    % NaN and infinity bits are not floats in Erlang
            end;
        2 -> element(rand:uniform(6), {0.0, negative_zero(), 5.0e-324, -5.0e-324,
                                       1.7976931348623157e308, -1.7976931348623157e308});
        3 -> float_of(rand:uniform(1 bsl 52));    % subnormal
        4 -> float(rand:uniform(1000000) - 500000);
        _ -> (rand:uniform() - 0.5) * math:pow(10, rand:uniform(40) - 20)
    end.

binary() ->
    case rand:uniform(6) of
        1 -> <<>>;
        2 -> list_to_binary([$a + rand:uniform(26) - 1 || _ <- lists:seq(1, rand:uniform(80))]);
        3 -> rand:bytes(64 + rand:uniform(200));
        _ -> rand:bytes(rand:uniform(70))
    end.

bitstring() ->
    Bits = rand:uniform(200),
    <<(rand:uniform(1 bsl Bits) - 1):Bits>>.

string() ->
    case rand:uniform(3) of
        1 -> [$a + rand:uniform(26) - 1 || _ <- lists:seq(1, rand:uniform(40))];
        2 -> [rand:uniform(256) - 1 || _ <- lists:seq(1, rand:uniform(40))];
        3 -> [32 + rand:uniform(95) - 1 || _ <- lists:seq(1, rand:uniform(40))]
    end.

unicode_text() ->
    unicode:characters_to_binary([random_char() || _ <- lists:seq(1, rand:uniform(30))]).

identifier() ->
    Node = element(rand:uniform(3), {<<"a@127.0.0.1">>, <<"other@host">>,
                                     unicode:characters_to_binary([$n, 16#1F600, $@, $h])}),
    %% Two to five words: OTP 25 hashes a one-word reference of another node
    %% inconsistently, so a hash map with one in a key is not =:= to itself
    %% once decoded (the edge terms hold one-word references outside maps).
    Words = [rand:uniform(1 bsl 32) - 1 || _ <- lists:seq(1, 1 + rand:uniform(4))],
    case rand:uniform(8) of
        1 -> self();
        2 -> make_ref();
        3 -> external_pid(Node, rand:uniform(1 bsl 32) - 1, rand:uniform(1 bsl 32) - 1, rand:uniform(1 bsl 32) - 1);
        4 -> external_port(Node, rand:uniform(1 bsl 64) - 1, rand:uniform(1 bsl 32) - 1);
        5 -> external_port(Node, rand:uniform(1 bsl 32) - 1, rand:uniform(1 bsl 32) - 1);
        6 -> external_ref(Node, rand:uniform(1 bsl 32) - 1, Words);
        7 -> alias();
        8 -> list_to_pid("<0." ++ integer_to_list(rand:uniform(30000)) ++ ".0>")
    end.
